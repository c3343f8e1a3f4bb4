"""Shiprocket tracking webhook (a function URL): check x-api-key, queue the scan, answer 200.
The tracking worker does the rest, after re-reading the shipment from Shiprocket."""

import base64
import json
import os
from datetime import UTC, datetime

from bazaar.platform import aws
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import load_settings
from bazaar.shipping import services
from bazaar.shipping.adapters.shiprocket import ShiprocketCredentials
from bazaar.shipping.adapters.sqs import SqsTrackingEvents
from bazaar.shipping.webhooks import Rejected, payload_digest

settings = load_settings(os.environ)
events = SqsTrackingEvents(aws.client("sqs"), settings.queue_url("tracking-events"))


def _respond(status: int, request_id: str, code: str | None = None, message: str | None = None) -> dict:
    body = {"status": "accepted"} if code is None else {
        "error": {"code": code, "message": message, "request_id": request_id, "details": []}
    }
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    request = event.get("requestContext", {})
    request_id = request.get("requestId", "")
    expected = load_secret(settings, "shiprocket", ShiprocketCredentials).webhook_api_key
    result = services.accept_tracking_webhook(
        (event.get("headers") or {}).get("x-api-key"), body, expected, events, datetime.now(UTC)
    )
    if isinstance(result, Rejected):
        # Enough to investigate (who, what, why), never the key that was sent.
        logger.warning(
            "shiprocket webhook rejected",
            extra={"reason": result.reason, "source_ip": request.get("http", {}).get("sourceIp"),
                   "payload_sha256": payload_digest(body), "payload_bytes": len(body)},
        )
        metrics.add_metric(name="ShiprocketWebhookRejected", unit="Count", value=1)
        if result.status == 401:
            return _respond(401, request_id, "UNAUTHORIZED", "The webhook's x-api-key is missing or wrong.")
        return _respond(400, request_id, "BAD_REQUEST", f"The webhook body was not accepted: {result.reason}.")
    logger.info("shiprocket webhook queued", extra={"awb": result.awb, "label": result.label,
                                                    "payload_sha256": result.payload_sha256})
    return _respond(200, request_id)
