"""SQS worker: each message is one Notification; a bad or failing record fails alone (partial
batch response) and, after the queue's max receives, rests in the DLQ where an alarm sees it."""

from bazaar.notifications import services, wiring
from bazaar.notifications.domain import Notification
from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

feeds = wiring.feeds(from_environment(Settings))
deliver = sqs_worker(Notification.model_validate_json, lambda notification, _: services.deliver(notification, feeds))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return deliver(event, context)
