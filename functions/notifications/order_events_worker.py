"""SQS worker for `order-notifications`: each message is one order event (relayed from the
outbox); the shopper gets one feed entry per event that is news to them, however often the event
is delivered. A payload that is not an order event fails alone and ends in the DLQ (alarmed)."""


from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.notifications import services
from bazaar.notifications.adapters.dynamodb import DynamoDbFeeds
from bazaar.orders.events import OrderEvent
from bazaar.platform import aws
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
feeds = DynamoDbFeeds(aws.client("dynamodb"), settings.table("notifications"))
processor = BatchProcessor(event_type=EventType.SQS)


def notify(record: SQSRecord) -> None:
    event = OrderEvent.from_json(record.body)
    notification = services.tell_the_shopper(event, feeds)
    logger.info("order event seen", extra={"event_id": event.event_id, "event_type": event.event_type.value,
                                           "notification_id": notification.notification_id if notification else None})


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=notify, processor=processor, context=context)
