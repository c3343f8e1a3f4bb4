"""What happens to a paid order, in business terms. Pure Python.

Every change still goes through `TRANSITIONS` (orders/domain.py); this module says which change
an admin override or a refund asks for (what a shipment outcome or a tracking scan asks for is
the shipping context's, bazaar.shipping.order_changes), and what else is
written with it in the same transaction (an `Amendment`): the shipment's ids, a refund record,
a scan's key, the audit entry of an admin's change."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from bazaar.identity.domain import AuditAction, AuditEntry
from bazaar.money import Paise
from bazaar.orders.events import OrderEventType
from bazaar.orders.domain import (
    TRANSITIONS,
    InvalidTransition,
    Order,
    OrderStatus,
    RefundRecord,
    RefundState,
    ShipmentRecord,
    Transition,
)
from bazaar.payments.domain import CheckState
from bazaar.platform.errors import BazaarError, Conflict

S = OrderStatus

# Where the shipment job may still create the provider's order.
SHIPPABLE = frozenset(s for s, row in TRANSITIONS.items() if S.SHIPMENT_CREATED in row)
REFUND_TARGETS = (S.PARTIALLY_REFUNDED, S.REFUNDED)


@dataclass(frozen=True)
class Amendment:
    """What is written with a transition, in its transaction."""

    shipment: ShipmentRecord | None = None  # set on the order; also maps its AWB to the order
    needs_attention: bool | None = None  # True: listed in diagnostics; False: taken off that list
    scan_key: str | None = None
    new_refund: RefundRecord | None = None  # added, conditional on the order's refund sequence
    refund_update: tuple[RefundRecord, RefundState] | None = None  # (as read, new state), conditional
    audit: AuditEntry | None = None
    # Closes the order's payment record in this state, conditional on nobody having done so:
    # how a confirmed payment's transition (bazaar.orders.settlement) settles the record with it.
    settles_payment: CheckState | None = None

    def applied_to(self, order: Order) -> Order:
        """The order as it reads once the amendment is written (its shipment, scans, refunds)."""
        if self.shipment is not None:
            order = replace(order, shipment=self.shipment)
        if self.scan_key is not None:
            order = replace(order, scan_keys=order.scan_keys | {self.scan_key})
        if self.new_refund is not None:
            order = replace(order, refunds=(*order.refunds, self.new_refund))
        if self.refund_update is not None:
            before, state = self.refund_update
            order = replace(order, refunds=tuple(replace(r, state=state) if r.sequence == before.sequence else r
                                                 for r in order.refunds))
        return order


@dataclass(frozen=True)
class Change:
    transition: Transition
    amendment: Amendment = field(default_factory=Amendment)


# -- admin overrides -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Admin:
    actor_id: str
    request_id: str
    reason: str


def audit_entry(admin: Admin, action: AuditAction, order: Order, after: dict, at: datetime, new_id) -> AuditEntry:
    return AuditEntry(audit_id=new_id("aud"), at=at, actor_id=admin.actor_id, action=action,
                      target_id=order.order_id, before={"status": order.status.value}, after=after,
                      request_id=admin.request_id, reason=admin.reason)


def retry_shipment(order: Order, admin: Admin, at: datetime, new_id) -> Change:
    """Re-drives the shipment job. The status stays until the job ships it; the request is kept
    in the history and the audit trail."""
    if order.status not in SHIPPABLE:
        raise InvalidTransition(order.status, S.SHIPMENT_CREATED)
    return Change(order.note(at, f"admin re-queued the shipment: {admin.reason}"),
                  Amendment(audit=audit_entry(admin, AuditAction.ORDER_SHIPMENT_RETRIED, order,
                                         {"status": order.status.value, "requeued": True}, at, new_id)))


def mark_delivered(order: Order, admin: Admin, at: datetime, new_id) -> Change:
    if S.DELIVERED not in TRANSITIONS.get(order.status, {}):
        raise InvalidTransition(order.status, S.DELIVERED)
    return Change(order.transition(S.DELIVERED, at, f"admin marked it delivered: {admin.reason}",
                                   actor=f"admin:{admin.actor_id}"),
                  Amendment(audit=audit_entry(admin, AuditAction.ORDER_MARKED_DELIVERED, order,
                                         {"status": S.DELIVERED.value}, at, new_id)))


# -- refunds ---------------------------------------------------------------------------------------


class RefundExceedsPaid(BazaarError):
    code = "REFUND_EXCEEDS_PAID"

    def __init__(self, asked: Paise, refundable: Paise) -> None:
        super().__init__(f"At most {refundable.amount} paise can still be refunded; {asked.amount} were asked.",
                         details=[{"field": "amount_paise", "refundable_paise": refundable.amount}])


class RefundInProgress(BazaarError):
    code = "REFUND_IN_PROGRESS"

    def __init__(self, refund: RefundRecord) -> None:
        super().__init__(f"Refund {refund.merchant_refund_id} of {refund.amount.amount} paise is still being "
                         "submitted; retry that one (same amount) first.")


def merchant_refund_id(order_id: str, sequence: int) -> str:
    """Deterministic, so a retry of the same refund sends PhonePe the same id (and PhonePe refuses
    a second refund under it). 1-63 of PhonePe's id characters."""
    return f"{order_id}-R{sequence:02d}"


def committed(order: Order) -> Paise:
    """What is refunded or on its way back: every refund that has not definitely failed."""
    return sum((r.amount for r in order.refunds if r.state is not RefundState.FAILED), Paise.zero())


def refunded(order: Order) -> Paise:
    return sum((r.amount for r in order.refunds if r.state is RefundState.COMPLETED), Paise.zero())


def request_refund(order: Order, amount: Paise, admin: Admin, at: datetime, new_id) -> Change | RefundRecord:
    """A new refund to submit, or (returned as is) the one still unsubmitted with the same amount,
    which the caller sends again under its id."""
    if not any(t in TRANSITIONS.get(order.status, {}) for t in REFUND_TARGETS):
        raise InvalidTransition(order.status, S.REFUNDED)
    unsent = [r for r in order.refunds if r.state is RefundState.REQUESTED]
    if unsent:
        if unsent[0].amount == amount:
            return unsent[0]
        raise RefundInProgress(unsent[0])
    if amount.amount <= 0:
        raise BazaarError("A refund must be at least 1 paise.", code="VALIDATION_FAILED")
    refundable = order.total - committed(order)
    if amount > refundable:
        raise RefundExceedsPaid(amount, refundable)
    sequence = len(order.refunds) + 1
    record = RefundRecord(sequence=sequence, merchant_refund_id=merchant_refund_id(order.order_id, sequence),
                          amount=amount, state=RefundState.REQUESTED, reason=admin.reason,
                          requested_by=admin.actor_id, requested_at=at)
    audit = audit_entry(admin, AuditAction.ORDER_REFUND_REQUESTED, order,
                   {"status": order.status.value, "merchant_refund_id": record.merchant_refund_id,
                    "amount_paise": amount.amount, "refunded_before_paise": committed(order).amount}, at, new_id)
    return Change(order.note(at, f"admin asked for a refund of {amount.amount} paise "
                                 f"({record.merchant_refund_id}): {admin.reason}",
                             actor=f"admin:{admin.actor_id}", emits=OrderEventType.REFUND_REQUESTED,
                             facts={"merchant_refund_id": record.merchant_refund_id,
                                    "amount_paise": amount.amount}),
                  Amendment(new_refund=record, audit=audit))


def refund_progressed(order: Order, merchant_refund_id_: str, state: RefundState, at: datetime) -> Change | None:
    """The provider's word on a refund. A completed refund moves the order to PARTIALLY_REFUNDED or
    REFUNDED; other news only updates the refund. None: nothing new (a repeat)."""
    refund = next((r for r in order.refunds if r.merchant_refund_id == merchant_refund_id_), None)
    if refund is None:
        raise Conflict(f"Order {order.order_id} has no refund {merchant_refund_id_}.")
    if refund.state == state or not refund.state.open:
        return None  # terminal refunds never change again
    update = Amendment(refund_update=(refund, state))
    label = f"refund {refund.merchant_refund_id} of {refund.amount.amount} paise {state.value.lower()}"
    if state is RefundState.COMPLETED:
        target = S.REFUNDED if refunded(order) + refund.amount >= order.total else S.PARTIALLY_REFUNDED
        if target in TRANSITIONS.get(order.status, {}):
            return Change(order.transition(target, at, label, actor="provider:phonepe", facts={
                "merchant_refund_id": refund.merchant_refund_id, "amount_paise": refund.amount.amount,
                "refunded_paise": (refunded(order) + refund.amount).amount}), update)
    return Change(order.note(at, label), update)
