"""SQS worker for `order-metrics`: each message is one order event (relayed from the outbox);
its business figures are emitted once per event id. A crash between recording the event and
flushing the figures loses those figures rather than counting them twice: a dashboard may be
one order short, never one order long."""


from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.ops.business_metrics import figures_for
from bazaar.orders.events import OrderEvent
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.inbox import DynamoDbInbox
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
inbox = DynamoDbInbox(aws.client("dynamodb"), settings.table("ops"), consumer="order-metrics")
processor = BatchProcessor(event_type=EventType.SQS)


def count(record: SQSRecord) -> None:
    event = OrderEvent.from_json(record.body)
    if not inbox.first_time(event.event_id, utc_now()):
        logger.info("order event already counted", extra={"event_id": event.event_id})
        return
    for figure in figures_for(event):
        metrics.add_metric(name=figure.name, unit=figure.unit, value=figure.value)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=count, processor=processor, context=context)
