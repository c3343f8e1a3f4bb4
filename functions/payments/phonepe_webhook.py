"""PhonePe webhook (function URL, auth NONE): verify, queue, answer 200 within PhonePe's few
seconds. Forged, malformed and other merchants' calls are refused and logged with the caller's
IP, the payload's sha256 and the reason; never the secret, never the body."""

from bazaar.payments import services, wiring
from bazaar.platform.edge import WebhookEdge
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
edge = WebhookEdge(settings, provider="phonepe")
queue = wiring.payment_events(settings)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return edge.handle(event, lambda request: services.answer_phonepe_webhook(
        request, wiring.webhook_credentials(settings), queue, settings.max_request_body_bytes))
