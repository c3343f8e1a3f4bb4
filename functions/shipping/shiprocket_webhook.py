"""Shiprocket tracking webhook (a function URL): check x-api-key, queue the scan, answer 200.
The tracking worker does the rest, after re-reading the shipment from Shiprocket."""

from bazaar.platform.edge import WebhookEdge
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment
from bazaar.shipping import wiring
from bazaar.shipping.services import receive_tracking_webhook

settings = from_environment(Settings)
edge = WebhookEdge(settings, provider="shiprocket")
webhook = wiring.tracking_webhook(settings)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return edge.handle(event, lambda request: receive_tracking_webhook(request, webhook))
