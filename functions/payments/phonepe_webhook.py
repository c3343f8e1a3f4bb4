"""PhonePe webhook (function URL, auth NONE): verify, queue, answer 200 within PhonePe's few
seconds. Forged, malformed and other merchants' calls are refused and logged with the caller's
IP, the payload's sha256 and the reason; never the secret, never the body."""

import base64
import binascii
import json
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from bazaar.payments import services
from bazaar.payments.adapters.sqs import SqsPaymentEvents
from bazaar.payments.config import PhonePeCredentials
from bazaar.payments.webhooks import WebhookCredentials, WebhookRejected, payload_digest
from bazaar.platform import aws
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
queue = SqsPaymentEvents(aws.client("sqs"), settings.queue_url("payment-events"))
_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 413: "PAYLOAD_TOO_LARGE"}


def _credentials() -> WebhookCredentials:
    secret = load_secret(settings, "phonepe", PhonePeCredentials)
    return WebhookCredentials(
        merchant_id=secret.merchant_id,
        webhook_username=secret.webhook_username,
        webhook_password=secret.webhook_password,
        salt_keys={secret.salt_index: secret.salt_key} if secret.salt_key and secret.salt_index else {},
    )


def _respond(status: int, body: dict, request_id: str) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json", "X-Request-Id": request_id},
            "body": json.dumps(body)}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    request_id = (event.get("requestContext") or {}).get("requestId") or context.aws_request_id
    source_ip = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    raw = event.get("body") or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode("utf-8")
    except (binascii.Error, ValueError):
        body = raw.encode("utf-8", "replace")
    call = services.WebhookCall(
        body=body,
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        query=event.get("queryStringParameters") or {},
        received_at=datetime.now(UTC),
    )
    try:
        receipt = services.receive_phonepe_webhook(call, _credentials(), queue,
                                                   max_body_bytes=settings.max_request_body_bytes)
    except WebhookRejected as rejected:
        logger.warning("phonepe webhook rejected", extra={
            "source_ip": source_ip, "payload_sha256": payload_digest(body), "payload_bytes": len(body),
            "reason": rejected.reason, "status": rejected.status,
        })
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        code = _CODES.get(rejected.status, "BAD_REQUEST")
        return _respond(rejected.status, {"error": {"code": code, "message": rejected.reason,
                                                    "request_id": request_id, "details": []}}, request_id)
    if receipt.event is None:
        logger.info("phonepe webhook ignored: not an event Bazaar acts on",
                    extra={"provider_event": receipt.ignored, "source_ip": source_ip})
        return _respond(200, {"status": "ignored"}, request_id)
    logger.info("phonepe webhook queued", extra={
        "provider_event": receipt.event.provider_event, "kind": receipt.event.kind.value,
        "subject_id": receipt.event.subject_id, "payload_sha256": receipt.event.payload_sha256,
    })
    metrics.add_metric(name="PhonePeWebhookAccepted", unit=MetricUnit.Count, value=1)
    return _respond(200, {"status": "accepted"}, request_id)
