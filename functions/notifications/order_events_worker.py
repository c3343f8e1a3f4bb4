"""SQS worker for `order-notifications`: each message is one order event (relayed from the
outbox); the shopper gets one feed entry per event that is news to them, however often the event
is delivered. A payload that is not an order event fails alone and ends in the DLQ (alarmed)."""

from bazaar.notifications import services, wiring
from bazaar.orders.events import OrderEvent
from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.notifications.settings import NotificationSettings
from bazaar.platform.settings import from_environment

outlets = wiring.outlets(from_environment(NotificationSettings))
notify = sqs_worker(OrderEvent.from_json, lambda event, _: services.tell_the_shopper(event, outlets))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return notify(event, context)
