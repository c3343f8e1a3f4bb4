"""SQS worker for `notifications`: each message is one delivery (a notification and a channel,
queued by the event consumers); it is sent at most once per notification and channel (claimed
first) and its outcome recorded on the feed entry. A temporary provider failure raises, so the
record fails alone (partial batch response), is retried after the visibility timeout and, after
the queue's max receives, rests in the DLQ where an alarm sees it."""

from bazaar.notifications import services, wiring
from bazaar.notifications.domain import DeliveryRequest
from bazaar.notifications.settings import SenderSettings
from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

senders = wiring.senders(from_environment(SenderSettings))
deliver = sqs_worker(DeliveryRequest.model_validate_json, lambda request, _: services.send(request, senders))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return deliver(event, context)
