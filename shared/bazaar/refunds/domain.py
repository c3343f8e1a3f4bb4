"""Refund requests: a shopper (or an admin) asks for money back, the policy decides whether it
may be asked and whether it needs an admin, and the refund-approval workflow carries it through
PhonePe. Pure Python.

A request's status changes only through `TRANSITIONS`, each as a conditional write on the status
it was read in, so an approval racing a rejection or the approval timeout has exactly one
outcome. The order's own refund record (bazaar.orders.domain.RefundRecord, the PhonePe refund
under its merchant refund id) is made when the request is processed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bazaar.money import Paise
from bazaar.orders.aftersale import committed
from bazaar.orders.domain import Order, OrderStatus
from bazaar.platform.errors import BazaarError, Conflict, NotFound


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # waiting for an admin
    APPROVED = "approved"  # by an admin, or by the policy
    REJECTED = "rejected"
    PROCESSING = "processing"  # PhonePe has been asked (under the merchant refund id)
    COMPLETED = "completed"
    FAILED = "failed"  # PhonePe refused or failed it; an admin may retry
    EXPIRED = "expired"  # nobody approved it in time


R = RefundStatus

TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    R.REQUESTED: frozenset({R.APPROVED, R.REJECTED, R.EXPIRED}),
    R.APPROVED: frozenset({R.PROCESSING, R.FAILED}),
    R.PROCESSING: frozenset({R.COMPLETED, R.FAILED}),
    # An admin's retry sends it again: with the same merchant refund id if PhonePe never took it.
    R.FAILED: frozenset({R.APPROVED}),
    R.REJECTED: frozenset(),
    R.COMPLETED: frozenset(),
    R.EXPIRED: frozenset(),
}
OPEN = frozenset({R.REQUESTED, R.APPROVED, R.PROCESSING, R.FAILED})


class RefundReason(StrEnum):
    """The reasons a shopper may give (the API offers exactly these)."""

    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    NOT_DELIVERED = "not_delivered"
    CHANGED_MIND = "changed_mind"
    DUPLICATE_ORDER = "duplicate_order"
    OTHER = "other"


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    status: RefundStatus
    by: str
    note: str


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    order_id: str
    customer_id: str
    amount: Paise
    reason: RefundReason
    note: str
    status: RefundStatus
    requested_by: str  # "customer:<id>" or "admin:<id>"
    created_at: datetime
    updated_at: datetime
    version: int = 1
    auto_approved: bool = False
    decided_by: str | None = None  # who approved or rejected ("policy" for an automatic approval)
    decision_reason: str | None = None
    merchant_refund_id: str | None = None  # the PhonePe refund, once it is asked for
    provider_refund_id: str | None = None
    failure_reason: str | None = None
    processed_at: datetime | None = None
    execution: str | None = None  # the workflow execution's name
    history: tuple[HistoryEntry, ...] = field(default=(), compare=False)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def move(self, to: RefundStatus, at: datetime, by: str, note: str, **facts) -> RefundRequest:
        if to not in TRANSITIONS[self.status]:
            raise RefundTransitionRefused(self.status, to)
        return replace(self, status=to, updated_at=at, version=self.version + 1,
                       history=(*self.history, HistoryEntry(at, to, by, note)), **facts)

    def noted(self, at: datetime, **facts) -> RefundRequest:
        """New facts (the merchant refund id, the execution) without a change of status."""
        return replace(self, updated_at=at, version=self.version + 1, **facts)


# -- the policy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundPolicy:
    window: timedelta  # after delivery
    auto_approve_up_to: Paise  # a refund this small is approved without an admin

    def check(self, order: Order, amount: Paise, open_requests: int, now: datetime,
              delivered_at: datetime | None, awaiting: Paise | None = None) -> None:
        """Raises what refuses the request; returns when the shopper may ask for it. `awaiting`:
        what open requests will refund that is not on the order yet."""
        if amount.amount <= 0:
            raise BazaarError("A refund must be at least 1 paise.", code="VALIDATION_FAILED",
                              details=[{"field": "amount_paise", "issue": "must be positive"}])
        if order.status not in REFUNDABLE:
            raise RefundNotAllowed(order.status)
        if order.status in (S.DELIVERED, S.PARTIALLY_REFUNDED) and delivered_at is not None \
                and now > delivered_at + self.window:
            raise RefundWindowClosed(self.window)
        left = order.total - committed(order) - (awaiting or Paise.zero())
        if amount > left:
            raise RefundExceedsPaidRequest(amount, left)
        if open_requests:
            raise RefundAlreadyOpen()

    def auto_approves(self, order: Order, amount: Paise, delivered_at: datetime | None) -> bool:
        """Nothing reached the shopper (never shipped, came back, lost): there is nothing to
        check. A small amount is not worth an admin's time either."""
        never_received = order.status in NEVER_RECEIVED or (order.status is S.PARTIALLY_REFUNDED
                                                            and delivered_at is None)
        return never_received or amount <= self.auto_approve_up_to


S = OrderStatus
# The goods never reached the shopper: paid and not shipped, cancelled at the courier, back at the
# seller, lost. No window applies.
NEVER_RECEIVED = frozenset({S.PAID, S.SHIPMENT_FAILED, S.NEEDS_REFUND, S.SHIPMENT_CANCELLED, S.RTO_DELIVERED,
                            S.LOST})
# Delivered: within REFUND_WINDOW_DAYS of delivery. Partly refunded: by whether it was delivered.
REFUNDABLE = NEVER_RECEIVED | {S.DELIVERED, S.PARTIALLY_REFUNDED}


def delivered_at(order: Order) -> datetime | None:
    """When the order reached the shopper, from its history (None if it never did)."""
    return next((h.at for h in reversed(order.history) if h.to_status is S.DELIVERED), None)


# -- refusals ----------------------------------------------------------------------------------


class RefundNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such refund request.")


class RefundTransitionRefused(Conflict):
    code = "INVALID_STATE_TRANSITION"

    def __init__(self, current: RefundStatus, wanted: RefundStatus) -> None:
        super().__init__(f"A {current} refund request cannot become {wanted}.")


class RefundNotAllowed(Conflict):
    code = "INVALID_STATE_TRANSITION"

    def __init__(self, status: OrderStatus) -> None:
        super().__init__(f"An order in {status} cannot be refunded (it must be paid and not yet shipped, or "
                         "delivered).")


class RefundWindowClosed(Conflict):
    code = "REFUND_WINDOW_CLOSED"

    def __init__(self, window: timedelta) -> None:
        super().__init__(f"Refunds can be asked for up to {window.days} days after delivery.")


class RefundAlreadyOpen(Conflict):
    code = "REFUND_ALREADY_OPEN"

    def __init__(self) -> None:
        super().__init__("This order already has a refund request in progress.")


class RefundExceedsPaidRequest(Conflict):
    code = "REFUND_EXCEEDS_PAID"

    def __init__(self, asked: Paise, left: Paise) -> None:
        super().__init__(f"At most {left.amount} paise can still be refunded; {asked.amount} were asked.",
                         details=[{"field": "amount_paise", "refundable_paise": left.amount}])
