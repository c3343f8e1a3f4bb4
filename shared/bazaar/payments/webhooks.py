"""PhonePe webhooks: who sent them (verification) and what they say (a typed PaymentEvent).

v2: `Authorization` carries hex(sha256("username:password")), a static shared secret. Compared
    in constant time, lower-cased; an optional leading "SHA256 " label is tolerated (whether
    PhonePe ever sends one is UNCONFIRMED). The body is not signed, so events are re-confirmed
    with the status API before money state moves (bazaar.payments.domain.judge).
v1: `X-VERIFY` = hex(sha256(body.response + saltKey)) + "###" + saltIndex. An unknown salt index
    is refused; the base64 `response` is decoded only after the checksum matched.
v1 callbacks for refunds look exactly like payment callbacks, so the v1 adapter gives refunds a
callback URL ending in `?kind=refund` (REFUND_CALLBACK_QUERY); the verdict is still re-confirmed.

Rejections carry the HTTP status to answer: 401 forged/unknown merchant, 400 malformed, 413 too
large. Their `reason` is safe to log; it never contains a secret or the expected digest."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from bazaar.payments.domain import PaymentEvent, PaymentEventKind

REFUND_CALLBACK_QUERY = ("kind", "refund")


@dataclass(frozen=True)
class WebhookCredentials:
    merchant_id: str
    webhook_username: str
    webhook_password: str
    salt_keys: Mapping[str, str]  # salt index -> salt key (more than one while rotating)


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def payload_digest(body: bytes) -> str:
    """What we log instead of a rejected body: enough to match it with PhonePe, nothing more."""
    return hashlib.sha256(body).hexdigest()


# -- verification ------------------------------------------------------------------------------


def v2_authorization_valid(header: str | None, username: str, password: str) -> bool:
    if not header:
        return False
    value = header.strip()
    if value[:7].lower() == "sha256 ":
        value = value[7:].strip()
    expected = hashlib.sha256(f"{username}:{password}".encode()).hexdigest()
    return hmac.compare_digest(value.lower().encode(), expected.encode())


def v1_x_verify_valid(header: str | None, response_field: str, salt_keys: Mapping[str, str]) -> bool:
    if not header or "###" not in header:
        return False
    digest, _, index = header.strip().rpartition("###")
    salt_key = salt_keys.get(index)
    if salt_key is None:
        return False
    expected = hashlib.sha256((response_field + salt_key).encode()).hexdigest()
    return hmac.compare_digest(digest.lower().encode(), expected.encode())


# -- parsing -----------------------------------------------------------------------------------

V2_EVENTS: dict[str, PaymentEventKind] = {
    "checkout.order.completed": PaymentEventKind.ORDER_COMPLETED,
    "checkout.order.failed": PaymentEventKind.ORDER_FAILED,
    "pg.order.completed": PaymentEventKind.ORDER_COMPLETED,
    "pg.order.failed": PaymentEventKind.ORDER_FAILED,
    # The standard-checkout name for an attempt failure is UNCONFIRMED; these are the candidates
    # seen in the SDK enum and the docs. All of them are informational only.
    "checkout.transaction.attempt.failed": PaymentEventKind.ATTEMPT_FAILED,
    "pg.transaction.attempt.failed": PaymentEventKind.ATTEMPT_FAILED,
    "pg.transaction.failed": PaymentEventKind.ATTEMPT_FAILED,
    "pg.refund.accepted": PaymentEventKind.REFUND_ACCEPTED,
    "pg.refund.completed": PaymentEventKind.REFUND_COMPLETED,
    "pg.refund.failed": PaymentEventKind.REFUND_FAILED,
}

V1_FAILURE_CODES = frozenset({"PAYMENT_ERROR", "PAYMENT_DECLINED", "PAYMENT_CANCELLED", "TIMED_OUT"})


class UnknownEvent(Exception):
    """A genuine webhook we do not act on (a new event type, a non-terminal v1 code)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def parse_v2(body: bytes, *, merchant_id: str, received_at: datetime) -> PaymentEvent:
    document = _json_object(body, "body")
    name, payload = document.get("event"), document.get("payload")
    if not isinstance(name, str) or not isinstance(payload, dict):
        raise WebhookRejected(400, "v2 webhook needs a string `event` and an object `payload`")
    kind = V2_EVENTS.get(name)
    if kind is None:
        raise UnknownEvent(name)
    _check_merchant(payload.get("merchantId"), merchant_id)
    if kind.is_refund:
        fields = dict(merchant_order_id=payload.get("originalMerchantOrderId"),
                      merchant_refund_id=payload.get("merchantRefundId"), provider_reference=payload.get("refundId"))
    else:
        fields = dict(merchant_order_id=payload.get("merchantOrderId"), provider_reference=payload.get("orderId"))
    return _event(api_version="v2", kind=kind, provider_event=name, state=payload.get("state"),
                  amount_paise=payload.get("amount"), received_at=received_at, body=body, **fields)


def parse_v1(body: bytes, x_verify: str | None, *, credentials: WebhookCredentials, refund: bool,
             received_at: datetime) -> PaymentEvent:
    """Verifies and parses a v1 S2S callback `{"response": "<base64>"}`."""
    document = _json_object(body, "body")
    response = document.get("response")
    if not isinstance(response, str):
        raise WebhookRejected(400, "v1 callback needs a string `response`")
    if not v1_x_verify_valid(x_verify, response, credentials.salt_keys):
        raise WebhookRejected(401, "X-VERIFY does not match (or unknown salt index)")
    try:
        decoded = base64.b64decode(response, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected(400, "v1 `response` is not valid base64") from None
    status = _json_object(decoded, "decoded response")
    data, code = status.get("data"), status.get("code")
    if not isinstance(data, dict) or not isinstance(code, str):
        raise WebhookRejected(400, "v1 response needs a string `code` and an object `data`")
    _check_merchant(data.get("merchantId"), credentials.merchant_id)
    if code == "PAYMENT_SUCCESS":
        kind = PaymentEventKind.REFUND_COMPLETED if refund else PaymentEventKind.ORDER_COMPLETED
    elif code in V1_FAILURE_CODES:
        kind = PaymentEventKind.REFUND_FAILED if refund else PaymentEventKind.ORDER_FAILED
    else:
        raise UnknownEvent(f"v1 {code}")  # callbacks are for terminal states; anything else is noise
    subject = data.get("merchantTransactionId")
    ids = dict(merchant_refund_id=subject) if refund else dict(merchant_order_id=subject)
    return _event(api_version="v1", kind=kind, provider_event=code, state=data.get("state"),
                  amount_paise=data.get("amount"), provider_reference=data.get("transactionId"),
                  received_at=received_at, body=body, **ids)


def _event(*, body: bytes, **fields) -> PaymentEvent:
    if not isinstance(fields.get("amount_paise"), int) or isinstance(fields.get("amount_paise"), bool):
        raise WebhookRejected(400, "amount must be an integer number of paise")
    try:
        event = PaymentEvent(payload_sha256=payload_digest(body), **fields)
    except ValidationError as error:
        problems = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        raise WebhookRejected(400, f"webhook fields missing or invalid: {problems}") from None
    if not event.subject_id or (event.kind.is_refund is False and not event.merchant_order_id):
        raise WebhookRejected(400, "webhook names no merchant order or refund id")
    return event


def _check_merchant(claimed: object, merchant_id: str) -> None:
    # Absent is tolerated (not every sample carries it); present and different is someone else.
    if claimed is not None and not hmac.compare_digest(str(claimed).encode(), merchant_id.encode()):
        raise WebhookRejected(401, "webhook is for another merchant")


def _json_object(raw: bytes, what: str) -> dict:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(400, f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise WebhookRejected(400, f"{what} is not a JSON object")
    return value
