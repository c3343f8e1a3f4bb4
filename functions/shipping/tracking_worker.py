"""SQS worker for `tracking-events`: re-confirms each webhook scan with Shiprocket's track API and
applies the confirmed status to the order of that AWB (forward only; every new scan kept in the
order's history). An AWB that is not ours is logged and dropped: the webhook answered 200 because
it cannot tell, and retrying would not make it ours. A failing record fails alone."""

from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.shipping import wiring
from bazaar.shipping.domain import TrackingEvent
from bazaar.shipping.fulfilment import follow_scan
from bazaar.shipping.settings import ShippingSettings

fulfilment = wiring.fulfilment(from_environment(ShippingSettings))
confirm = sqs_worker(TrackingEvent.model_validate_json, lambda event, _: follow_scan(event, fulfilment))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return confirm(event, context)
