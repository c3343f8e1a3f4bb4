"""Use cases after PAID: ship a paid order, apply confirmed tracking scans, the admin
overrides (retry / cancel the shipment, mark delivered, refund) and following refunds until the
provider settles them. Each status change is a conditional write through the transition table
(bazaar.orders.aftersale decides, `_change` writes and re-decides when somebody else was first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from bazaar.money import Paise
from bazaar.orders import aftersale
from bazaar.orders.aftersale import Admin, Change
from bazaar.orders.domain import Order, OrderNotFound, RefundRecord, RefundState, ShipmentRecord, StaleOrder
from bazaar.orders.ports import AftersaleBook, ShipmentJobs
from bazaar.orders.services import ATTEMPTS
from bazaar.payments.domain import PaymentNotFound, PaymentProviderRejected, RefundStatus, merchant_order_id_for
from bazaar.payments.domain import RefundState as ProviderRefundState
from bazaar.payments.ports import PaymentProvider
from bazaar.platform.errors import BazaarError, Conflict, DependencyUnavailable
from bazaar.platform.observability import logger as log
from bazaar.shipping.domain import (
    Address,
    Parcel,
    ProviderUnavailable,
    ShipmentItem,
    ShipmentRequest,
    ShippingProviderError,
    TrackingConfirmation,
)
from bazaar.shipping.ports import ShippingProvider
from bazaar.shipping.services import ship_order

# The catalogue holds no dimensions or weights yet: every order ships as one standard box.
STANDARD_BOX = Parcel(length_cm=30, breadth_cm=20, height_cm=10, weight_grams=500)
NewId = Callable[[str], str]


def _change(orders: AftersaleBook, order_id: str, decide: Callable[[Order], Change | None]) -> Order:
    for _ in range(ATTEMPTS):
        order = orders.get(order_id)
        if order is None:
            raise OrderNotFound()
        change = decide(order)
        if change is None:
            return order
        try:
            return orders.apply(change.transition, change.amendment)
        except StaleOrder:
            continue
    raise Conflict("The order kept changing while we tried to update it; try again.")


# -- shipping --------------------------------------------------------------------------------------


def shipment_request(order: Order, contact_email: str) -> ShipmentRequest:
    """What Shiprocket is asked to carry. The email is the shop's (Bazaar notifies customers
    itself; Shiprocket only requires one)."""
    to = order.shipping_address
    return ShipmentRequest(
        channel_order_id=order.order_id,
        order_date=order.created_at.date(),
        ship_to=Address(name=to.name[:80], line1=to.line1, line2=to.line2 or None, city=to.city, state=to.state,
                        pincode=to.pincode, email=contact_email, phone=to.phone),
        items=tuple(ShipmentItem(sku=l.sku, name=l.title[:200], units=l.quantity, unit_price_paise=l.unit_price.amount)
                    for l in order.lines),
        parcel=STANDARD_BOX,
        sub_total_paise=order.total.amount,
    )


@dataclass(frozen=True)
class ShipmentJobResult:
    order: Order | None
    outcome: str  # shipped | already_done | unknown_order | not_shippable | failed_for_good


def ship_paid_order(order_id: str, orders: AftersaleBook, provider: ShippingProvider, now: Callable[[], datetime],
                    *, contact_email: str, last_attempt: bool) -> ShipmentJobResult:
    """Runs one shipment job. Raises ShippingProviderError when the provider failed, so the
    caller fails the SQS record (and SQS retries it); on the last attempt the order is first
    marked SHIPMENT_FAILED, so when the message lands in the DLQ the order already says so."""
    order = orders.get(order_id)
    if order is None:
        return ShipmentJobResult(None, "unknown_order")
    if order.shipment is not None:
        return ShipmentJobResult(order, "already_done")
    if order.status not in aftersale.SHIPPABLE:
        return ShipmentJobResult(order, "not_shippable")
    try:
        request = shipment_request(order, contact_email)
    except ValidationError as error:
        # Our data will not be better on the next try: fail it now, for an admin to look at.
        why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        failed = _change(orders, order_id, lambda o: aftersale.shipment_failed(o, now(), f"not shippable: {why}"))
        return ShipmentJobResult(failed, "failed_for_good")
    try:
        outcome = ship_order(request, provider)
    except ShippingProviderError as error:
        if last_attempt:
            answer = error.message  # bound here: the lambda must not reach for the except variable
            _change(orders, order_id, lambda o: aftersale.shipment_failed(o, now(), answer))
        raise
    record = ShipmentRecord(provider_order_id=outcome.provider_order_id, shipment_id=outcome.shipment_id,
                            awb=outcome.awb, courier_name=outcome.courier_name,
                            pickup_scheduled_date=outcome.pickup_scheduled_date)
    return ShipmentJobResult(_change(orders, order_id, lambda o: aftersale.shipment_created(o, record, now())),
                             "shipped")


def apply_tracking(confirmation: TrackingConfirmation, orders: AftersaleBook, now: Callable[[], datetime]) -> Order | None:
    """A scan the track API confirmed, applied to its order. None: the AWB is not one of ours,
    or the provider has nothing to say yet (logged by the caller, nothing changes)."""
    order_id = orders.order_for_awb(confirmation.awb)
    if order_id is None or confirmation.current is None:
        return None
    times = [s.at for s in confirmation.scans if s.at is not None]
    key = aftersale.scan_key(confirmation.current.label, confirmation.current.shipment_status_id,
                             max(times) if times else None)
    return _change(orders, order_id, lambda o: aftersale.apply_scan(o, confirmation.current, key, now(),
                                                                    known=confirmation.known_label))


# -- admin overrides -------------------------------------------------------------------------------


def retry_shipment(order_id: str, admin: Admin, orders: AftersaleBook, jobs: ShipmentJobs, now, new_id: NewId) -> Order:
    """Re-drives the shipment job (also one that ended in the DLQ): the request is written with its
    audit entry, then the job is queued again. If queuing fails the admin retries; the job itself
    is idempotent (one Shiprocket order per order id)."""
    order = _change(orders, order_id, lambda o: aftersale.retry_shipment(o, admin, now(), new_id))
    jobs.enqueue(order_id)
    return order


class ShippingProviderFailed(BazaarError):
    code = "SHIPPING_PROVIDER_ERROR"


def cancel_shipment(order_id: str, admin: Admin, orders: AftersaleBook, provider: ShippingProvider, now,
                    new_id: NewId) -> Order:
    order = orders.get(order_id)
    if order is None:
        raise OrderNotFound()
    aftersale.cancel_shipment(order, admin, now(), new_id)  # refuses (409) before the provider is asked
    try:
        provider_order_id = order.shipment.provider_order_id if order.shipment else None
        if provider_order_id is None:  # failed half-way: the provider may hold an order without AWB
            found = provider.find_order_by_channel_order_id(order_id)
            provider_order_id = found.provider_order_id if found and not found.cancelled else None
        if provider_order_id is not None:
            provider.cancel(provider_order_id)
    except ProviderUnavailable as error:
        raise DependencyUnavailable(f"Shiprocket did not answer ({error.message}); retry.") from None
    except ShippingProviderError as error:
        log.warning("shipment cancel refused", extra={"order_id": order_id, "provider_answer": error.details,
                                                      "message": error.message})
        raise ShippingProviderFailed(f"Shiprocket refused the cancellation: {error.message}") from None
    return _change(orders, order_id, lambda o: aftersale.cancel_shipment(o, admin, now(), new_id))


def mark_delivered(order_id: str, admin: Admin, orders: AftersaleBook, now, new_id: NewId) -> Order:
    return _change(orders, order_id, lambda o: aftersale.mark_delivered(o, admin, now(), new_id))


# -- refunds ---------------------------------------------------------------------------------------


def merchant_order_id(order: Order) -> str:
    """The PhonePe merchant order id the order was paid under (payments decides it)."""
    return merchant_order_id_for(order.order_id)


def refund(order_id: str, amount: Paise, admin: Admin, orders: AftersaleBook, payments: PaymentProvider, now,
           new_id: NewId, callback_url: str = "") -> Order:
    """Records the refund (with its audit entry) before PhonePe is asked, under an id made from the
    order id and the refund's number: a retry after a timeout asks again under the same id."""
    decided: dict[str, RefundRecord] = {}

    def decide(order: Order) -> Change | None:
        planned = aftersale.request_refund(order, amount, admin, now(), new_id)
        if isinstance(planned, RefundRecord):
            decided["refund"] = planned
            return None
        decided["refund"] = planned.amendment.new_refund
        return planned

    order = _change(orders, order_id, decide)
    record = decided["refund"]
    try:
        status = payments.refund(record.merchant_refund_id, merchant_order_id(order), record.amount.amount,
                                 callback_url)
    except PaymentProviderRejected as error:
        log.warning("refund refused by the provider", extra={"order_id": order_id, "refund": record.merchant_refund_id,
                                                             "provider_code": error.provider_code})
        _progress(orders, order_id, record.merchant_refund_id, RefundState.FAILED, now)
        raise
    return _progress(orders, order_id, record.merchant_refund_id, _state(status), now)


def _state(status: RefundStatus) -> RefundState:
    if not status.confirmed:
        return RefundState.PENDING
    return RefundState(status.state.value if isinstance(status.state, ProviderRefundState) else status.state)


def _progress(orders: AftersaleBook, order_id: str, refund_id: str, state: RefundState, now) -> Order:
    return _change(orders, order_id, lambda o: aftersale.refund_progressed(o, refund_id, state, now()))


def refresh_refunds(order: Order, orders: AftersaleBook, payments: PaymentProvider, now) -> Order:
    """Asks PhonePe about each unsettled refund of the order and applies what it says."""
    for record in order.refunds:
        if not record.state.open:
            continue
        try:
            status = payments.refund_status(record.merchant_refund_id)
        except PaymentNotFound:
            continue  # never reached PhonePe: stays REQUESTED until an admin retries it
        if status.amount_paise is not None and status.amount_paise != record.amount.amount:
            log.error("refund amount differs at the provider; not applied",
                      extra={"order_id": order.order_id, "refund": record.merchant_refund_id,
                             "ours": record.amount.amount, "provider": status.amount_paise})
            continue
        order = _progress(orders, order.order_id, record.merchant_refund_id, _state(status), now)
    return order


def poll_open_refunds(orders: AftersaleBook, payments: PaymentProvider, now, limit: int = 50) -> dict:
    """The refund-status schedule: every unsettled refund, asked once."""
    checked, failed = 0, 0
    for order_id in dict.fromkeys(order_id for order_id, _ in orders.open_refunds(limit)):
        order = orders.get(order_id)
        if order is None:
            continue
        try:
            refresh_refunds(order, orders, payments, now)
            checked += 1
        except (DependencyUnavailable, Conflict) as error:
            failed += 1
            log.warning("refund status not refreshed; next run tries again", extra={"order_id": order_id,
                                                                                    "error": str(error)})
    return {"orders_checked": checked, "orders_failed": failed}


def settle_refund_event(merchant_refund_id: str, state: RefundState, orders: AftersaleBook, now) -> Order | None:
    """For the payments worker: a refund webhook PhonePe's status API confirmed. The order id is
    the part of the merchant refund id before its `-R<nn>` suffix."""
    order_id, _, _ = merchant_refund_id.rpartition("-R")
    if not order_id:
        return None
    return _progress(orders, order_id, merchant_refund_id, state, now)
