"""A consumer's record of the events it has acted on, so a redelivered event is acted on once.

Kept per consumer and event id in a table (`INBOX#<consumer>` / `<event id>`) for longer than
any redelivery can come (stream retention, queue retention and a DLQ redrive): it rests on the
event's id, never on a short-lived cache."""

from __future__ import annotations

from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from bazaar.platform.dynamo import error_code, to_item

INBOX_RETENTION = timedelta(days=30)


class DynamoDbInbox:
    def __init__(self, client, table: str, consumer: str):
        self._client = client
        self._table = table
        self._consumer = consumer

    def first_time(self, event_id: str, at: datetime) -> bool:
        """Records the event as seen; False if it had been seen before."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item({"pk": f"INBOX#{self._consumer}", "sk": event_id, "seen_at": at.isoformat(),
                              "expires_at": int((at + INBOX_RETENTION).timestamp())}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True
