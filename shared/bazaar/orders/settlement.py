"""An order's payment settles: PhonePe's verdict (reached by bazaar.payments) applied to the order
exactly once, whether it arrives by webhook (re-confirmed with the status API), by reconciliation
(PhonePe's mandated status polling) or many times over. Orders owns this decision; payments only
says what PhonePe confirmed.

What each effect is deduplicated on (business state, kept as long as the order; never a cache):
- the order's move to PAID / PAYMENT_FAILED / NEEDS_REFUND: the order's status and version (one
  conditional TransactWriteItems through the transition table; stock moves in it), so a
  duplicate or late verdict finds the order already moved and changes nothing;
- what follows PAID (the shipment, the shopper's notification, the figures): nothing here. The
  OrderPaid event is committed with the transition and its consumers react to it;
- the success / failure metric: closing the payment record (`check_state = OPEN` removed by a
  conditional update), which exactly one caller does. A confirmed payment closes it in the
  PAID (or NEEDS_REFUND) transition's own transaction, so the move and the close commit together
  and the first confirmation costs three DynamoDB round trips: the record, the order, the
  transaction (a duplicate reads the record only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bazaar.catalog.domain import OutOfStock
from bazaar.money import Paise
from bazaar.orders import fulfilment
from bazaar.orders.aftersale import Amendment
from bazaar.orders.domain import (
    TRANSITIONS, Order, OrderNotFound, OrderStatus, PaymentAlreadySettled, PaymentAmountMismatch, RefundState,
    StaleOrder, Transition, payment_targets,
)
from bazaar.orders.ports import AftersaleBook, OrderBook
from bazaar.orders.services import ATTEMPTS, change_status
from bazaar.payments.domain import (
    CheckState, PaymentEvent, PaymentNotFound, PaymentProviderUnavailable, PaymentRecord, PaymentState,
    PaymentStatus, RefundStatus, Settlement, StatusCheckPlan, Verdict, order_id_for,
)
from bazaar.payments.ports import PaymentProvider, PaymentRecords
from bazaar.payments.services import Confirmation, confirm_payment_event
from bazaar.platform.clock import Clock
from bazaar.platform.errors import Conflict
from bazaar.platform.faults import crash_point
from bazaar.platform.observability import logger


@dataclass(frozen=True)
class Settler:
    """What applying a verdict needs."""

    orders: AftersaleBook
    records: PaymentRecords
    plan: StatusCheckPlan
    clock: Clock


class NotYetConfirmed(Exception):
    """PhonePe has no verdict on the event yet; it must be tried again later."""


# -- applying a verdict ------------------------------------------------------------------------


def confirm_payment(order_id: str, amount: Paise, orders: OrderBook, clock: Clock) -> Order:
    """Applies a payment PhonePe confirmed (re-confirmed with its status API) to the order.
    Within the lock: locked -> sold, PAYMENT_PENDING -> PAID. After cleanup gave the locks back:
    sold from available stock if it is still there, else NEEDS_REFUND. A repeat changes nothing
    and returns the order as it is."""
    return _confirm(order_id, amount, orders.get, orders.apply, clock())[0]


def _confirm(order_id: str, amount: Paise, get: Callable[[str], Order | None], apply: Callable[[Transition], Order],
             now: datetime) -> tuple[Order, bool]:
    """As confirm_payment; also says whether this call made the move (False: it had been made)."""
    for _ in range(ATTEMPTS):
        order = get(order_id)
        if order is None:
            raise OrderNotFound()
        if amount != order.total:
            raise PaymentAmountMismatch()
        targets = payment_targets(order)
        if not targets:
            return order, False
        try:
            return _first_possible(order, targets, apply, now), True
        except StaleOrder:
            continue  # cleanup or a cancel got there first: decide again on what it is now
    raise Conflict("The order kept changing while the payment was being applied; try again.")


def _first_possible(order: Order, targets: tuple[OrderStatus, ...], apply: Callable[[Transition], Order],
                    now: datetime) -> Order:
    for n, target in enumerate(targets):
        reason = "payment confirmed" if n == 0 else "payment confirmed after its stock was sold to others"
        try:
            return apply(order.transition(target, now, reason, actor="provider:phonepe",
                                          facts={"amount_paise": order.total.amount}))
        except OutOfStock:
            if n == len(targets) - 1:
                raise
    raise AssertionError("unreachable")


def settle_with_status(record: PaymentRecord, status: PaymentStatus | None, settler: Settler) -> Settlement:
    """Applies what PhonePe's status API says (None: PhonePe knows no such order) to the order."""
    now = settler.clock()
    if status is not None and status.merchant_order_id != record.merchant_order_id:
        return _mismatch(record, f"PhonePe answered for {status.merchant_order_id}", settler)
    if status is not None and status.confirmed and status.state is PaymentState.COMPLETED:
        if status.amount_paise != record.amount_paise:
            return _mismatch(record, f"PhonePe took {status.amount_paise} paise, the order is {record.amount_paise}",
                             settler, refund=True)
        return _paid(record, settler, now)
    if status is not None and status.confirmed and status.state is PaymentState.FAILED:
        return _failed(record, CheckState.FAILED, f"payment failed at PhonePe ({status.provider_code or 'FAILED'})",
                       settler, now)
    # PENDING, no verdict (INTERNAL_SERVER_ERROR) or unknown to PhonePe.
    if settler.plan.timed_out(record.started_at, now) and (status is None or status.confirmed):
        reason = "payment still pending at PhonePe after its timeout" if status else "PhonePe never opened the payment"
        return _failed(record, CheckState.EXPIRED, reason, settler, now)
    settler.records.reschedule(record, settler.plan.next_check(record.started_at, now))
    return Settlement.STILL_PENDING


def _paid(record: PaymentRecord, settler: Settler, now: datetime) -> Settlement:
    closing = Amendment(settles_payment=CheckState.COMPLETED)
    try:
        order, moved = _confirm(record.order_id, Paise(record.amount_paise), settler.orders.get,
                                lambda transition: settler.orders.apply(transition, closing), now)
    except PaymentAmountMismatch:  # the record and the order disagree: never fulfil
        return _mismatch(record, "the payment record's amount is not the order's total", settler, refund=True)
    except PaymentAlreadySettled:  # another confirmation closed the record (and moved the order) first
        return Settlement.ALREADY_SETTLED
    crash_point("payment.order_paid_committed")
    # The move closed the record with it. If the order had moved already (a payment applied
    # before its record was closed with it), the record is closed here: once, by whoever wins.
    if not moved and not settler.records.settle(record, CheckState.COMPLETED):
        return Settlement.ALREADY_SETTLED
    return Settlement.PAID if order.status is OrderStatus.PAID else Settlement.REFUND_NEEDED


def _failed(record: PaymentRecord, state: CheckState, reason: str, settler: Settler, now: datetime) -> Settlement:
    def decide(order: Order) -> Transition | None:
        if order.status is not OrderStatus.PAYMENT_PENDING:
            return None  # expired, cancelled or already settled: its locks are back already
        return order.transition(OrderStatus.PAYMENT_FAILED, now, reason, actor="provider:phonepe")

    change_status(settler.orders, record.order_id, decide)
    if not settler.records.settle(record, state, note=reason):
        return Settlement.ALREADY_SETTLED
    return Settlement.FAILED if state is CheckState.FAILED else Settlement.EXPIRED


def _mismatch(record: PaymentRecord, note: str, settler: Settler, *, refund: bool = False) -> Settlement:
    """Nothing is fulfilled. If money was taken (refund=True) the order goes to NEEDS_REFUND so
    an operator sees it; the record closes as MISMATCH either way."""
    now = settler.clock()
    if refund:
        def decide(order: Order) -> Transition | None:
            if OrderStatus.NEEDS_REFUND not in TRANSITIONS.get(order.status, {}):
                return None
            return order.transition(OrderStatus.NEEDS_REFUND, now, f"payment mismatch: {note}",
                                    actor="provider:phonepe")

        change_status(settler.orders, record.order_id, decide)
    logger.error("payment does not match the order; nothing fulfilled",
                 extra={"order_id": record.order_id, "merchant_order_id": record.merchant_order_id, "note": note})
    settler.records.settle(record, CheckState.MISMATCH, note=note)
    return Settlement.MISMATCH


# -- the webhook path --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventOutcome:
    confirmation: Confirmation
    settlement: Settlement | None  # None: nothing to apply (informational, refunds)


def apply_payment_event(event: PaymentEvent, provider: PaymentProvider, settler: Settler) -> EventOutcome:
    """A verified webhook: re-confirmed with PhonePe's status API, then applied to the order.
    Raises NotYetConfirmed when PhonePe has no verdict yet (the queue brings it back)."""
    confirmation = confirm_payment_event(event, provider)
    if confirmation.verdict is Verdict.NOT_YET:
        raise NotYetConfirmed(event.subject_id)
    crash_point("payment_event.confirmed_before_transition")
    if confirmation.verdict is Verdict.INFORMATIONAL:
        return EventOutcome(confirmation, None)
    if event.kind.is_refund:
        return EventOutcome(confirmation, _refund_news(event, confirmation, settler))
    order_id = order_id_for(event.merchant_order_id)
    record = settler.records.get(order_id) if order_id else None
    if record is None or record.merchant_order_id != event.merchant_order_id:
        return EventOutcome(confirmation, Settlement.UNKNOWN_ORDER)
    if confirmation.verdict is Verdict.MISMATCH:
        # The claim disagrees with PhonePe's own status: act on neither; the alarm sees it and
        # reconciliation keeps following PhonePe's status for the real outcome.
        return EventOutcome(confirmation, Settlement.MISMATCH)
    if record.state is CheckState.COMPLETED:
        return EventOutcome(confirmation, Settlement.ALREADY_SETTLED)  # a duplicate: no writes at all
    status = confirmation.status if isinstance(confirmation.status, PaymentStatus) else None
    return EventOutcome(confirmation, settle_with_status(record, status, settler))


def _refund_news(event: PaymentEvent, confirmation: Confirmation, settler: Settler) -> Settlement | None:
    """A refund webhook: PhonePe's confirmed refund state goes to the order's refund record (the
    orders context decides; a repeat changes nothing). The refund-status schedule covers lost ones."""
    status = confirmation.status
    if confirmation.verdict is Verdict.MISMATCH or not isinstance(status, RefundStatus) or not status.confirmed:
        return Settlement.MISMATCH if confirmation.verdict is Verdict.MISMATCH else None
    try:
        order = fulfilment.settle_refund_event(status.merchant_refund_id, RefundState(status.state.value),
                                               settler.orders, settler.clock)
    except (OrderNotFound, Conflict):  # not one of our refunds (or no such refund on the order)
        return Settlement.UNKNOWN_ORDER
    return Settlement.REFUND_PROGRESSED if order is not None else Settlement.UNKNOWN_ORDER


# -- reconciliation ----------------------------------------------------------------------------


@dataclass
class ReconciliationReport:
    checked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def settled(self) -> int:
        return sum(n for outcome, n in self.outcomes.items()
                   if outcome not in (Settlement.STILL_PENDING, Settlement.ALREADY_SETTLED))


def reconcile_payments(provider: PaymentProvider, settler: Settler, batch_size: int = 50,
                       max_checks: int = 500) -> ReconciliationReport:
    """Asks PhonePe about every open payment whose next mandated check is due, and applies the
    answer. One payment's trouble (PhonePe down for it) never stops the others: it is asked
    again at its next check."""
    report, seen = ReconciliationReport(), set()
    while report.checked < max_checks:
        batch = [r for r in settler.records.due(settler.clock(), batch_size) if r.order_id not in seen]
        if not batch:
            break
        for record in batch:
            seen.add(record.order_id)
            report.checked += 1
            try:
                try:
                    status = provider.order_status(record.merchant_order_id)
                except PaymentNotFound:
                    status = None
                outcome = settle_with_status(record, status, settler)
            except PaymentProviderUnavailable:
                settler.records.reschedule(record, settler.plan.next_check(record.started_at, settler.clock()))
                report.errors += 1
                continue
            except Exception:  # noqa: BLE001 - one bad payment must not stop the others
                logger.exception("could not reconcile a payment", extra={"order_id": record.order_id})
                report.errors += 1
                continue
            report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1
    return report
