"""RazorpayX payout webhook (a function URL): verify X-Razorpay-Signature over the raw body in
constant time, queue the event, answer 200. The webhook worker applies it."""

from bazaar.payouts import wiring
from bazaar.payouts.receiving import receive_payout_webhook
from bazaar.platform.edge import WebhookEdge
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
edge = WebhookEdge(settings, provider="razorpayx")
webhook = wiring.payout_webhook(settings)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return edge.handle(event, lambda request: receive_payout_webhook(request, webhook))
