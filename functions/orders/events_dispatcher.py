"""DynamoDB stream of `order-events` (the outbox): relays each committed order event to the
queues of the consumers that take its type. A failed send names the first record not relayed
(partial batch response), so the stream mapping hands it and what follows over again; after its
retries the batch's description goes to the dispatcher's failure queue, where an alarm sees it."""


from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

from bazaar.orders.adapters.sqs import SqsEventQueues
from bazaar.orders.relay import OutboxRecord, Routes, relay
from bazaar.platform import aws
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.orders.settings import DispatcherSettings

settings = from_environment(DispatcherSettings)
routes = Routes.from_queues(settings.event_routes)
queues = SqsEventQueues(aws.client("sqs"), {queue: settings.queue_url(queue) for queue in settings.event_routes})


def outbox_records(event: dict) -> list[OutboxRecord]:
    """The events committed to the outbox, in stream order; the outbox's own expiry (TTL
    removals) and anything that is not an event are not news for anyone."""
    records = []
    for record in DynamoDBStreamEvent(event).records:
        if record.event_name is not DynamoDBRecordEventName.INSERT or record.dynamodb is None:
            continue
        image = record.dynamodb.new_image
        if not all(isinstance(image.get(k), str) for k in ("event_id", "event_type", "body")):
            logger.error("an outbox item that is not an event; skipped",
                         extra={"sequence_number": record.dynamodb.sequence_number})
            continue
        records.append(OutboxRecord(record.dynamodb.sequence_number or "", image["event_id"], image["event_type"],
                                    image["body"]))
    return records


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    records = outbox_records(event)
    first_undelivered = relay(records, routes, queues)
    logger.info("order events relayed", extra={"events": len(records), "first_undelivered": first_undelivered})
    failures = [{"itemIdentifier": first_undelivered}] if first_undelivered else []
    return {"batchItemFailures": failures}
