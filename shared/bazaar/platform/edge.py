"""The edge every non-API function shares, so each entry point is only its own business.

- Function-URL webhooks (`WebhookEdge`): a caller outside the provider's source-IP allow-list
  (<PROVIDER>_WEBHOOK_SOURCE_IPS, when set) refused with 403 before anything else; the raw body
  decoded (base64 or not) and kept as bytes for signature checks, refused with 413 above
  MAX_REQUEST_BODY_BYTES before anything reads it, headers lower-cased, the request id in the
  logs and on the response, the security headers on every answer, and every answer (a refusal
  or an unexpected failure alike) in the error envelope, never a stack trace; AWS busy or
  unreachable (nothing queued) is 503 SERVICE_UNAVAILABLE, so the provider delivers it again.
- SQS workers (`sqs_worker`): each record parsed by the worker's record model and handled alone
  (partial batch response), so a bad record fails by itself and, after the queue's max receives,
  rests in its DLQ where an alarm sees it.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bazaar.platform.aws import aws_unavailable
from bazaar.platform.errors import CATALOGUE
from bazaar.platform.headers import SECURITY_HEADERS
from bazaar.platform.observability import logger, metrics
from bazaar.platform.settings import WEBHOOK_SOURCE_IPS_SUFFIX, ConfigurationError, Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

T = TypeVar("T")


@dataclass(frozen=True)
class WebhookRequest:
    body: bytes  # exactly as the provider sent it: signatures are computed over these bytes
    headers: Mapping[str, str]  # names lower-cased
    query: Mapping[str, str]
    source_ip: str | None
    request_id: str
    received_at: datetime


@dataclass(frozen=True)
class WebhookReply:
    status: int
    body: dict[str, Any] = field(default_factory=lambda: {"status": "accepted"})

    @classmethod
    def accepted(cls, status: str = "accepted") -> WebhookReply:
        return cls(200, {"status": status})

    @classmethod
    def refused(cls, status: int, code: str, message: str) -> WebhookReply:
        return cls(status, {"error": {"code": code, "message": message, "details": []}})


class WebhookEdge:
    def __init__(self, settings: Settings, provider: str):
        self.max_body_bytes = settings.max_request_body_bytes
        setting = f"{provider.upper()}{WEBHOOK_SOURCE_IPS_SUFFIX}"
        if provider not in settings.webhook_source_ips:
            raise ConfigurationError(f"invalid configuration: {setting} is not set (empty lets every address "
                                     "through to the signature check)")
        self.source_networks = settings.webhook_source_ips[provider]

    def handle(self, event: dict, receive: Callable[[WebhookRequest], WebhookReply]) -> dict:
        context = event.get("requestContext") or {}
        request_id = str(context.get("requestId") or "unknown")
        logger.set_correlation_id(request_id)
        source_ip = (context.get("http") or {}).get("sourceIp")
        if not self._allowed(source_ip):
            # Refused before the body is even decoded: nothing of it is worth reading.
            logger.warning("webhook from an address outside the allow-list", extra={"source_ip": source_ip})
            metrics.add_metric(name="WebhookSourceRefused", unit="Count", value=1)
            return _respond(WebhookReply.refused(403, "FORBIDDEN", "This address may not call the webhook."),
                            request_id)
        raw = event.get("body") or ""
        try:
            body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode("utf-8")
        except (binascii.Error, ValueError):
            return _respond(WebhookReply.refused(400, "BAD_REQUEST", "The body is not valid base64."), request_id)
        if len(body) > self.max_body_bytes:
            logger.warning("webhook body over the limit", extra={"payload_bytes": len(body)})
            return _respond(WebhookReply.refused(413, "PAYLOAD_TOO_LARGE",
                                                 f"The request body is over {self.max_body_bytes} bytes."), request_id)
        request = WebhookRequest(
            body=body,
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            query=dict(event.get("queryStringParameters") or {}),
            source_ip=source_ip,
            request_id=request_id,
            received_at=datetime.now(UTC),
        )
        try:
            reply = receive(request)
        except Exception as error:  # noqa: BLE001 - the provider gets the envelope; the log keeps the trace
            if aws_unavailable(error):
                # Nothing was queued: a 5xx makes the provider deliver it again.
                logger.warning("webhook not queued: AWS busy or unavailable", extra={"error": repr(error)})
                reply = WebhookReply.refused(503, "SERVICE_UNAVAILABLE", CATALOGUE["SERVICE_UNAVAILABLE"].meaning)
            else:
                logger.exception("webhook failed")
                reply = WebhookReply.refused(500, "INTERNAL_ERROR", "Something went wrong on our side; retry.")
        return _respond(reply, request_id)

    def _allowed(self, source_ip: str | None) -> bool:
        if not self.source_networks:
            return True
        try:
            address = ipaddress.ip_address(source_ip or "")
        except ValueError:
            return False
        return any(address in network for network in self.source_networks)


def _respond(reply: WebhookReply, request_id: str) -> dict:
    body = reply.body
    if "error" in body:
        body = {"error": {**body["error"], "request_id": request_id}}
    # No CORS allow headers: no browser has any business calling a webhook. `Vary: Origin` as
    # on every other answer.
    return {"statusCode": reply.status,
            "headers": {**SECURITY_HEADERS, "Vary": "Origin", "Content-Type": "application/json",
                        "X-Request-Id": request_id},
            "body": json.dumps(body)}


def sqs_worker(parse: Callable[[str], T], handle: Callable[[T, SQSRecord], object]) -> Callable[[dict, Any], dict]:
    """An SQS-triggered entry: `parse` is the record model (it raises on a body that is not one),
    `handle` acts on one parsed record. Returns the partial batch response Lambda expects."""
    # Imported here, not with the module: webhooks and APIs import this module too, and the batch
    # utility (with the parser models it loads) is only a worker's cold-start cost.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)

    def one(record: SQSRecord) -> None:
        handle(parse(record.body), record)

    def run(event: dict, context: Any) -> dict:
        return dict(process_partial_response(event=event, record_handler=one, processor=processor, context=context))

    return run
