"""Payment use cases on the provider side: start an order's payment, take in a PhonePe webhook,
and re-confirm what it claims with PhonePe's status API. What a confirmed verdict does to the
order is the orders context's (bazaar.orders.settlement), fed by these verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from bazaar.payments import webhooks
from bazaar.payments.domain import (
    CheckState, PaymentCreated, PaymentEvent, PaymentEventKind, PaymentNotFound, PaymentProviderRejected,
    PaymentRecord, PaymentStatus, RefundStatus, StatusCheckPlan, Verdict, judge, merchant_order_id_for,
)
from bazaar.payments.ports import PaymentEventQueue, PaymentProvider, PaymentRecords
from bazaar.payments.webhooks import UnknownEvent, WebhookCredentials, WebhookRejected
from bazaar.platform.edge import WebhookReply, WebhookRequest
from bazaar.platform.faults import crash_point
from bazaar.platform.observability import logger, metrics


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
    crash_point("payment_webhook.verified_before_enqueue")
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


@dataclass(frozen=True)
class PaymentLinks:
    shop_return_url: str  # the shopper comes back to <shop_return_url>/<order_id>
    callback_url: str  # our webhook (v1 sends each payment's callback there)

    def return_url(self, order_id: str) -> str:
        return f"{self.shop_return_url.rstrip('/')}/{order_id}"


def new_payment_record(order_id: str, amount_paise: int, api_version: str, plan: StatusCheckPlan,
                       now: datetime) -> PaymentRecord:
    """An order's payment record, OPEN, under the order's one merchant order id. It must be
    written before PhonePe is asked (so reconciliation follows the payment whatever happens next):
    checkout writes it in the order's own transaction (PaymentRecords.open writes it alone)."""
    return PaymentRecord(
        order_id=order_id, provider="phonepe", api_version=api_version,
        merchant_order_id=merchant_order_id_for(order_id), amount_paise=amount_paise,
        started_at=now, next_check_at=plan.first_check_at(now),
    )


def request_payment(record: PaymentRecord, provider: PaymentProvider, records: PaymentRecords,
                    links: PaymentLinks) -> PaymentCreated:
    """Asks PhonePe for the payment of a record already written. A definite refusal closes the
    record; an unknown outcome (PaymentProviderUnavailable) leaves it open for reconciliation."""
    try:
        return provider.create_payment(record.merchant_order_id, record.amount_paise,
                                       links.return_url(record.order_id), links.callback_url)
    except PaymentProviderRejected as refused:
        records.settle(record, CheckState.FAILED, note=f"PhonePe refused to start it: {refused.provider_code}")
        raise


_REFUSAL_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 413: "PAYLOAD_TOO_LARGE"}


def answer_phonepe_webhook(request: WebhookRequest, credentials: WebhookCredentials, queue: PaymentEventQueue,
                           max_body_bytes: int) -> WebhookReply:
    """The webhook's answer within PhonePe's few seconds: queued (200), ignored (200), or refused
    and logged with the caller's IP, the payload's sha256 and the reason; never the secret, never
    the body."""
    call = WebhookCall(body=request.body, headers=request.headers, query=request.query,
                       received_at=request.received_at)
    try:
        receipt = receive_phonepe_webhook(call, credentials, queue, max_body_bytes=max_body_bytes)
    except WebhookRejected as rejected:
        logger.warning("phonepe webhook rejected", extra={
            "source_ip": request.source_ip, "payload_sha256": webhooks.payload_digest(request.body),
            "payload_bytes": len(request.body), "reason": rejected.reason, "status": rejected.status,
        })
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        return WebhookReply.refused(rejected.status, _REFUSAL_CODES.get(rejected.status, "BAD_REQUEST"),
                                    rejected.reason)
    if receipt.event is None:
        logger.info("phonepe webhook ignored: not an event Bazaar acts on",
                    extra={"provider_event": receipt.ignored, "source_ip": request.source_ip})
        return WebhookReply.accepted("ignored")
    logger.info("phonepe webhook queued", extra={
        "provider_event": receipt.event.provider_event, "kind": receipt.event.kind.value,
        "subject_id": receipt.event.subject_id, "payload_sha256": receipt.event.payload_sha256,
    })
    metrics.add_metric(name="PhonePeWebhookAccepted", unit=MetricUnit.Count, value=1)
    return WebhookReply.accepted()
