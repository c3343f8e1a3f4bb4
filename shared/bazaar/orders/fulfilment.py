"""Use cases after PAID that belong to the order itself: the admin overrides (retry the shipment
job, mark delivered, refund) and following refunds until PhonePe settles them. Each status change
is a conditional write through the transition table (bazaar.orders.aftersale decides,
bazaar.orders.services.apply_change writes and decides again when somebody else was first).
Shipping's own use cases (ship, track, cancel a shipment) are in bazaar.shipping.fulfilment."""

from __future__ import annotations

from collections.abc import Callable

from bazaar.money import Paise
from bazaar.orders import aftersale
from bazaar.orders.aftersale import Admin, Change
from bazaar.orders.domain import Order, OrderNotFound, RefundRecord, RefundState
from bazaar.orders.ports import AftersaleBook, ShipmentJobs
from bazaar.orders.services import apply_change
from bazaar.payments.domain import PaymentNotFound, PaymentProviderRejected, RefundStatus, merchant_order_id_for
from bazaar.payments.domain import RefundState as ProviderRefundState
from bazaar.payments.ports import PaymentProvider
from bazaar.platform.clock import Clock
from bazaar.platform.errors import Conflict, DependencyUnavailable
from bazaar.platform.faults import crash_point
from bazaar.platform.observability import logger as log

NewId = Callable[[str], str]


# -- admin overrides -------------------------------------------------------------------------------


def retry_shipment(order_id: str, admin: Admin, orders: AftersaleBook, jobs: ShipmentJobs, now: Clock, new_id: NewId) -> Order:
    """Re-drives the shipment job (also one that ended in the DLQ): the request is written with its
    audit entry, then the job is queued again. If queuing fails the admin retries; the job itself
    is idempotent (one Shiprocket order per order id)."""
    order = apply_change(orders, order_id, lambda o: aftersale.retry_shipment(o, admin, now(), new_id))
    jobs.enqueue(order_id)
    return order


def mark_delivered(order_id: str, admin: Admin, orders: AftersaleBook, now: Clock, new_id: NewId) -> Order:
    return apply_change(orders, order_id, lambda o: aftersale.mark_delivered(o, admin, now(), new_id))


# -- refunds ---------------------------------------------------------------------------------------


def merchant_order_id(order: Order) -> str:
    """The PhonePe merchant order id the order was paid under (payments decides it)."""
    return merchant_order_id_for(order.order_id)


def refund(order_id: str, amount: Paise, admin: Admin, orders: AftersaleBook, payments: PaymentProvider, now: Clock,
           new_id: NewId, callback_url: str = "") -> Order:
    """Records the refund (with its audit entry) before PhonePe is asked, under an id made from the
    order id and the refund's number: a retry after a timeout asks again under the same id. A
    refund recorded by an earlier attempt (whose instance died before it wrote PhonePe's answer
    down) is first looked up at PhonePe, which refuses a second request under an id it took."""
    decided: dict[str, RefundRecord] = {}
    recorded_before: list[bool] = []

    def decide(order: Order) -> Change | None:
        planned = aftersale.request_refund(order, amount, admin, now(), new_id)
        if isinstance(planned, RefundRecord):
            decided["refund"] = planned
            recorded_before.append(True)
            return None
        new_refund = planned.amendment.new_refund
        assert new_refund is not None  # request_refund's change always adds the refund it plans
        decided["refund"] = new_refund
        return planned

    order = apply_change(orders, order_id, decide)
    record = decided["refund"]
    taken = _taken_by_phonepe(record, payments) if recorded_before else None
    if taken is not None:
        return _progress(orders, order_id, record.merchant_refund_id, _state(taken), now)
    try:
        status = payments.refund(record.merchant_refund_id, merchant_order_id(order), record.amount.amount,
                                 callback_url)
    except PaymentProviderRejected as error:
        log.warning("refund refused by the provider", extra={"order_id": order_id, "refund": record.merchant_refund_id,
                                                             "provider_code": error.provider_code})
        _progress(orders, order_id, record.merchant_refund_id, RefundState.FAILED, now)
        raise
    crash_point("refund.sent_to_phonepe")
    return _progress(orders, order_id, record.merchant_refund_id, _state(status), now)


def _taken_by_phonepe(record: RefundRecord, payments: PaymentProvider) -> RefundStatus | None:
    """PhonePe's refund under the record's id, or None if it has none (never asked, or the ask was lost)."""
    try:
        return payments.refund_status(record.merchant_refund_id)
    except PaymentNotFound:
        return None


def _state(status: RefundStatus) -> RefundState:
    if not status.confirmed:
        return RefundState.PENDING
    return RefundState(status.state.value if isinstance(status.state, ProviderRefundState) else status.state)


def _progress(orders: AftersaleBook, order_id: str, refund_id: str, state: RefundState, now: Clock) -> Order:
    return apply_change(orders, order_id, lambda o: aftersale.refund_progressed(o, refund_id, state, now()))


def refresh_refunds(order: Order, orders: AftersaleBook, payments: PaymentProvider, now: Clock) -> Order:
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


def poll_open_refunds(orders: AftersaleBook, payments: PaymentProvider, now: Clock, limit: int = 50) -> dict:
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


def settle_refund_event(merchant_refund_id: str, state: RefundState, orders: AftersaleBook, now: Clock) -> Order | None:
    """For the payments worker: a refund webhook PhonePe's status API confirmed. The order id is
    the part of the merchant refund id before its `-R<nn>` suffix."""
    order_id, _, _ = merchant_refund_id.rpartition("-R")
    if not order_id:
        return None
    return _progress(orders, order_id, merchant_refund_id, state, now)


def view_with_refunds_refreshed(order_id: str, kit) -> Order:
    """An order as an admin sees it (`kit`: bazaar.orders.wiring.Aftersale): its unsettled refunds
    asked about again first, so the page shows PhonePe's latest word."""
    order = kit.orders.get(order_id)
    if order is None:
        raise OrderNotFound()
    if any(r.state.open for r in order.refunds):
        order = refresh_refunds(order, kit.orders, kit.payments(), kit.clock)
    return order


def refund_for_admin(order_id: str, amount: Paise, admin: Admin, kit) -> Order:
    return refund(order_id, amount, admin, kit.orders, kit.payments(), kit.clock, kit.new_id, kit.refund_callback_url)
