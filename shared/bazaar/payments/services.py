"""Payment use cases on the provider side: take in a PhonePe webhook, and re-confirm what it
claims with PhonePe's status API. Moving an order's state on a confirmed verdict belongs to the
orders context and is wired in once checkout and orders exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bazaar.payments import webhooks
from bazaar.payments.domain import (
    PaymentEvent, PaymentEventKind, PaymentNotFound, PaymentStatus, RefundStatus, Verdict, judge,
)
from bazaar.payments.ports import PaymentEventQueue, PaymentProvider
from bazaar.payments.webhooks import UnknownEvent, WebhookCredentials, WebhookRejected


@dataclass(frozen=True)
class WebhookCall:
    body: bytes
    headers: Mapping[str, str]  # names lower-cased
    query: Mapping[str, str]
    received_at: datetime


@dataclass(frozen=True)
class WebhookReceipt:
    event: PaymentEvent | None  # None: genuine, but not an event we act on
    ignored: str | None = None  # the event name we ignored


def receive_phonepe_webhook(
    call: WebhookCall, credentials: WebhookCredentials, queue: PaymentEventQueue, *, max_body_bytes: int
) -> WebhookReceipt:
    """Verifies the caller, parses the claim and queues it. Raises WebhookRejected (401 forged
    or for another merchant, 400 malformed, 413 too large). Nothing here calls PhonePe: the
    provider expects an answer within seconds, the worker does the confirming."""
    if len(call.body) > max_body_bytes:
        raise WebhookRejected(413, f"body of {len(call.body)} bytes is over {max_body_bytes}")
    try:
        if "x-verify" in call.headers:
            refund = call.query.get(webhooks.REFUND_CALLBACK_QUERY[0]) == webhooks.REFUND_CALLBACK_QUERY[1]
            event = webhooks.parse_v1(call.body, call.headers["x-verify"], credentials=credentials, refund=refund,
                                      received_at=call.received_at)
        else:
            if not webhooks.v2_authorization_valid(call.headers.get("authorization"), credentials.webhook_username,
                                                   credentials.webhook_password):
                raise WebhookRejected(401, "Authorization missing or wrong")
            event = webhooks.parse_v2(call.body, merchant_id=credentials.merchant_id, received_at=call.received_at)
    except UnknownEvent as unknown:
        return WebhookReceipt(None, ignored=unknown.name)
    queue.publish(event)
    return WebhookReceipt(event)


@dataclass(frozen=True)
class Confirmation:
    verdict: Verdict
    status: PaymentStatus | RefundStatus | None


def confirm_payment_event(event: PaymentEvent, provider: PaymentProvider) -> Confirmation:
    """Asks PhonePe what it says now about the event's order or refund. May raise
    PaymentProviderUnavailable (try again later). An id PhonePe does not know is a MISMATCH."""
    if event.kind is PaymentEventKind.ATTEMPT_FAILED:
        return Confirmation(Verdict.INFORMATIONAL, None)
    try:
        if event.kind.is_refund:
            status: PaymentStatus | RefundStatus = provider.refund_status(event.merchant_refund_id or "")
        else:
            status = provider.order_status(event.merchant_order_id or "")
    except PaymentNotFound:
        return Confirmation(Verdict.MISMATCH, None)
    return Confirmation(judge(event, status), status)
