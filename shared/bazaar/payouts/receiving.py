"""RazorpayX's payout webhook, from raw request to a queued `PayoutWebhook`: verify, queue,
answer 200 within RazorpayX's few seconds. The webhook worker applies it.

RazorpayX signs the raw body (HMAC-SHA256 with the webhook secret, `X-Razorpay-Signature`), so a
verified webhook is RazorpayX's word; it still only moves a payout forward (bazaar.payouts.domain),
so a replayed or out-of-order one changes nothing."""

from __future__ import annotations

from bazaar.payouts.webhooks import Ignored, Rejected, parse_payout_webhook, payload_digest, verify_signature
from bazaar.platform.edge import WebhookReply, WebhookRequest
from bazaar.platform.observability import logger, metrics


def receive_payout_webhook(request: WebhookRequest, webhook) -> WebhookReply:
    """`webhook`: bazaar.payouts.wiring.PayoutWebhook."""
    digest = payload_digest(request.body)
    if not verify_signature(request.body, request.headers.get("x-razorpay-signature"), webhook.secret()):
        # Who sent it and what, never the signature itself.
        logger.warning("razorpayx webhook signature refused", extra={
            "source_ip": request.source_ip, "payload_sha256": digest, "payload_bytes": len(request.body)})
        metrics.add_metric(name="RazorpayXWebhookRejected", unit="Count", value=1)
        return WebhookReply.refused(401, "UNAUTHORIZED", "The webhook's X-Razorpay-Signature is missing or wrong.")
    parsed = parse_payout_webhook(request.body, request.headers.get("x-razorpay-event-id"))
    if isinstance(parsed, Ignored):
        logger.info("razorpayx webhook not about payouts; acknowledged", extra={"reason": parsed.reason})
        return WebhookReply.accepted("ignored")
    if isinstance(parsed, Rejected):
        logger.warning("razorpayx webhook body refused", extra={"reason": parsed.reason, "payload_sha256": digest})
        return WebhookReply.refused(parsed.status, "BAD_REQUEST", f"The webhook body was not accepted: {parsed.reason}.")
    webhook.queue.enqueue(parsed.model_dump_json())
    logger.info("razorpayx webhook queued", extra={"event_id": parsed.event_id, "event": parsed.event,
                                                  "payout": parsed.payout.payout_id})
    return WebhookReply.accepted()
