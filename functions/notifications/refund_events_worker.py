"""SQS worker for `refund-notifications`: each message is one refund request event (relayed from
the outbox); the shopper gets one feed entry per event, however often it is delivered."""

from bazaar.notifications import services, wiring
from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.notifications.settings import NotificationSettings
from bazaar.platform.settings import from_environment
from bazaar.refunds.events import RefundEvent

outlets = wiring.outlets(from_environment(NotificationSettings))
notify = sqs_worker(RefundEvent.from_json, lambda event, _: services.tell_about_the_refund(event, outlets))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return notify(event, context)
