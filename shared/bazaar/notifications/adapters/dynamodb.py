"""Each user's notification feed in the `notifications` table, through the low-level client.

Items: `USER#<user id>` / `NTF#<occurred at>#<notification id>`, newest last in key order, so
the feed reads newest first by querying backwards. `unread_for` (the user id) is set only while
the entry is unread: the sparse `by-unread` index then holds exactly the unread entries, so the
unread count reads those and never the whole feed; reading an entry removes it and sets
`read_at`. Entries expire after FEED_RETENTION (DynamoDB TTL on `expires_at`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from bazaar.notifications.domain import FeedEntry, Notification
from bazaar.platform.dynamo import count, error_code, from_item, query_page, to_item, to_value

FEED_RETENTION = timedelta(days=180)
_KEYS = ("pk", "sk")


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def _entry(values: dict) -> FeedEntry:
    return FeedEntry(
        notification_id=values["notification_id"], kind=values["kind"], title=values["title"],
        body=values["body"], occurred_at=datetime.fromisoformat(values["occurred_at"]),
        read_at=datetime.fromisoformat(values["read_at"]) if values.get("read_at") else None,
    )


class DynamoDbFeeds:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    def add_once(self, notification: Notification) -> bool:
        occurred = notification.occurred_at.astimezone(UTC)
        item = to_item({
            "pk": f"USER#{notification.user_id}",
            # The id in the sort key makes the conditional put the dedupe: same id, same key.
            "sk": f"NTF#{_moment(occurred)}#{notification.notification_id}",
            "notification_id": notification.notification_id,
            "user_id": notification.user_id,
            "kind": notification.kind.value,
            "title": notification.title,
            "body": notification.body,
            "occurred_at": _moment(occurred),
            "unread_for": notification.user_id,
            "expires_at": int((occurred + FEED_RETENTION).timestamp()),
        })
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def page(self, user_id: str, limit: int, after: dict | None) -> tuple[list[FeedEntry], dict | None]:
        items, position = query_page(
            self._client, key_attributes=_KEYS, limit=limit, start=after, TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ntf)",
            ExpressionAttributeValues={":pk": to_value(f"USER#{user_id}"), ":ntf": to_value("NTF#")},
            ScanIndexForward=False,
        )
        return [_entry(i) for i in items], position

    @staticmethod
    def key_attributes() -> tuple[str, ...]:
        """What a feed cursor's position holds (checked before a client's cursor is used)."""
        return _KEYS

    def unread_count(self, user_id: str) -> int:
        return count(self._client, TableName=self._table, IndexName="by-unread",
                     KeyConditionExpression="unread_for = :u", ExpressionAttributeValues={":u": to_value(user_id)})

    def mark_read(self, user_id: str, notification_id: str, at: datetime) -> FeedEntry | None:
        """None: the user has no such notification (somebody else's counts as none)."""
        found = self._client.query(
            TableName=self._table, IndexName="by-notification-id", KeyConditionExpression="notification_id = :n",
            ExpressionAttributeValues={":n": to_value(notification_id)},
        ).get("Items", [])
        mine = [from_item(i) for i in found if from_item(i)["pk"] == f"USER#{user_id}"]
        if not mine:
            return None
        key = {"pk": to_value(mine[0]["pk"]), "sk": to_value(mine[0]["sk"])}
        try:
            updated = self._client.update_item(
                TableName=self._table, Key=key, ConditionExpression="attribute_exists(pk)",
                UpdateExpression="SET read_at = if_not_exists(read_at, :at) REMOVE unread_for",
                ExpressionAttributeValues={":at": to_value(_moment(at))}, ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None  # expired meanwhile
            raise
        return _entry(from_item(updated["Attributes"]))
