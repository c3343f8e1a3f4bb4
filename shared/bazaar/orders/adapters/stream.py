"""The outbox table's stream, as the dispatcher receives it (Lambda's DynamoDB Streams event), and
the partial batch response it answers with."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

from bazaar.orders.relay import OutboxRecord
from bazaar.platform.observability import logger


def outbox_records(event: dict) -> list[OutboxRecord]:
    """The events committed to the outbox, in stream order; the outbox's own expiry (TTL
    removals) and anything that is not an event are not news for anyone."""
    records = []
    for record in DynamoDBStreamEvent(event).records:
        if record.event_name is not DynamoDBRecordEventName.INSERT or record.dynamodb is None:
            continue
        image = record.dynamodb.new_image
        position = record.dynamodb.sequence_number
        if not position or not all(isinstance(image.get(k), str) for k in ("event_id", "event_type", "body")):
            logger.error("an outbox item that is not an event; skipped", extra={"sequence_number": position})
            continue
        records.append(OutboxRecord(position, image["event_id"], image["event_type"], image["body"]))
    return records


def batch_response(first_undelivered: str | None) -> dict:
    """Lambda's partial batch response: the stream hands over again from the first record named."""
    return {"batchItemFailures": [{"itemIdentifier": first_undelivered}] if first_undelivered else []}
