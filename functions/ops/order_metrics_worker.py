"""SQS worker for `order-metrics`: each message is one order event (relayed from the outbox);
its business figures are emitted once per event id (bazaar.ops.business_metrics)."""

from bazaar.ops.business_metrics import count_once
from bazaar.orders.events import OrderEvent
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.edge import sqs_worker
from bazaar.platform.inbox import DynamoDbInbox
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
inbox = DynamoDbInbox(aws.client("dynamodb"), settings.table("ops"), consumer="order-metrics")
count = sqs_worker(OrderEvent.from_json, lambda event, _: count_once(event, inbox, utc_now))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return count(event, context)
