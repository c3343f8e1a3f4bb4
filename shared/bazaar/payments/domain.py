"""The payment facts Bazaar reasons about, independent of which PhonePe API generation told us.

A webhook is a claim, not proof: the v2 webhook secret is static and the body is not signed, so
every money-moving event is re-confirmed with the provider's status API (`judge`) and its amount
and merchant order id are checked against the claim before any state is allowed to move."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bazaar.platform.errors import BazaarError, DependencyUnavailable, NotFound
from bazaar.platform.ids import id_pattern


class PaymentState(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class RefundState(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"  # accepted by PhonePe, money not yet back with the shopper
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class PaymentCreated:
    merchant_order_id: str
    provider_order_id: str | None
    # Where to send the shopper. None when the create call timed out after PhonePe had already
    # made the order: the retry with the same id finds it through the status API, but PhonePe
    # does not hand the redirect out twice. The caller tells the shopper the payment is being
    # checked; the order resolves through status (it expires to FAILED if never paid) and only
    # then may checkout start again with a new merchant order id.
    redirect_url: str | None
    state: PaymentState = PaymentState.PENDING

    @property
    def redirect_lost(self) -> bool:
        return self.redirect_url is None


@dataclass(frozen=True)
class PaymentStatus:
    merchant_order_id: str
    state: PaymentState
    amount_paise: int | None
    provider_order_id: str | None = None
    transaction_id: str | None = None
    provider_code: str | None = None  # v2 errorCode, or the v1 `code`
    # False when PhonePe answered without a verdict (INTERNAL_SERVER_ERROR): the state is then
    # PENDING by definition, and means "ask again later", never "not paid".
    confirmed: bool = True


@dataclass(frozen=True)
class RefundStatus:
    merchant_refund_id: str
    state: RefundState
    amount_paise: int | None
    provider_refund_id: str | None = None
    merchant_order_id: str | None = None
    provider_code: str | None = None
    confirmed: bool = True


class PaymentEventKind(StrEnum):
    ORDER_COMPLETED = "order.completed"
    ORDER_FAILED = "order.failed"
    ATTEMPT_FAILED = "transaction.attempt.failed"  # the order stays open for another try
    REFUND_ACCEPTED = "refund.accepted"
    REFUND_COMPLETED = "refund.completed"
    REFUND_FAILED = "refund.failed"

    @property
    def is_refund(self) -> bool:
        return self.value.startswith("refund.")


class PaymentEvent(BaseModel):
    """A verified webhook, as it travels through the `payment-events` queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["phonepe"] = "phonepe"
    api_version: Literal["v1", "v2"]
    kind: PaymentEventKind
    provider_event: str = Field(max_length=100)  # PhonePe's own name: v2 `event`, v1 `code`
    merchant_order_id: str | None = Field(default=None, max_length=63)  # None only for v1 refund callbacks
    merchant_refund_id: str | None = Field(default=None, max_length=63)
    provider_reference: str | None = Field(default=None, max_length=100)  # orderId / refundId / transactionId
    state: str = Field(max_length=20)
    amount_paise: int = Field(ge=0)
    received_at: datetime
    payload_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @property
    def subject_id(self) -> str:
        return (self.merchant_refund_id if self.kind.is_refund else self.merchant_order_id) or ""


class Verdict(StrEnum):
    CONFIRMED = "confirmed"  # the status API agrees: state, amount and id
    NOT_YET = "not_yet"  # PhonePe has no verdict yet (or could not give one): ask again later
    CONTRADICTED = "contradicted"  # PhonePe's status says another terminal state: the status wins
    MISMATCH = "mismatch"  # amount or id differ from the claim: never act, alert
    INFORMATIONAL = "informational"  # an attempt failed; the order itself is still open


_EXPECTED: dict[PaymentEventKind, frozenset[str]] = {
    PaymentEventKind.ORDER_COMPLETED: frozenset({PaymentState.COMPLETED}),
    PaymentEventKind.ORDER_FAILED: frozenset({PaymentState.FAILED}),
    # An accepted refund that has since completed or failed still confirms the acceptance.
    PaymentEventKind.REFUND_ACCEPTED: frozenset({RefundState.CONFIRMED, RefundState.COMPLETED, RefundState.FAILED}),
    PaymentEventKind.REFUND_COMPLETED: frozenset({RefundState.COMPLETED}),
    PaymentEventKind.REFUND_FAILED: frozenset({RefundState.FAILED}),
}


def judge(event: PaymentEvent, status: PaymentStatus | RefundStatus) -> Verdict:
    """What the provider's own status says about a webhook's claim."""
    if event.kind is PaymentEventKind.ATTEMPT_FAILED:
        return Verdict.INFORMATIONAL
    if not status.confirmed:
        return Verdict.NOT_YET
    claimed_id = event.merchant_refund_id if event.kind.is_refund else event.merchant_order_id
    actual_id = status.merchant_refund_id if isinstance(status, RefundStatus) else status.merchant_order_id
    if claimed_id != actual_id or status.amount_paise != event.amount_paise:
        return Verdict.MISMATCH
    if event.kind.is_refund and event.merchant_order_id and isinstance(status, RefundStatus) \
            and status.merchant_order_id and status.merchant_order_id != event.merchant_order_id:
        return Verdict.MISMATCH
    if status.state in _EXPECTED[event.kind]:
        return Verdict.CONFIRMED
    if status.state in (PaymentState.PENDING, RefundState.PENDING) or (
        event.kind in (PaymentEventKind.REFUND_COMPLETED, PaymentEventKind.REFUND_FAILED)
        and status.state == RefundState.CONFIRMED
    ):
        return Verdict.NOT_YET
    return Verdict.CONTRADICTED


# -- errors ------------------------------------------------------------------------------------


class PaymentProviderUnavailable(DependencyUnavailable):
    """PhonePe could not be reached or gave no answer (timeouts, 5xx, throttling). Retry later
    with the same merchant order / refund id; never a new one."""


class PaymentProviderRejected(BazaarError):
    """PhonePe answered with a definite refusal (a 4xx that is not about throttling)."""

    code = "PAYMENT_PROVIDER_ERROR"

    def __init__(self, message: str, *, provider_code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.provider_code, self.http_status = provider_code, http_status


class PaymentProviderAuthFailed(PaymentProviderRejected):
    """PhonePe refused our credentials: a configuration problem, never the shopper's."""


class PaymentNotFound(NotFound):
    """PhonePe knows no order / refund with this merchant id."""


# -- Bazaar's own record of a payment ----------------------------------------------------------


def merchant_order_id_for(order_id: str) -> str:
    """The PhonePe merchant order id of an order's payment: the order id itself (`ord_` + 26
    characters fits v1's 34 and v2's 63, in PhonePe's alphabet). One order, one id, forever: a
    retry of the same intent can never open a second payment."""
    return order_id


def order_id_for(merchant_order_id: str | None) -> str | None:
    """The order a merchant order id belongs to, or None if it cannot be one of ours."""
    if merchant_order_id and _ORDER_ID.fullmatch(merchant_order_id):
        return merchant_order_id
    return None


_ORDER_ID = re.compile(id_pattern("ord").strip("^$"))


class CheckState(StrEnum):
    OPEN = "OPEN"  # PhonePe has not settled it: reconciliation keeps asking
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"  # still PENDING at PhonePe after the payment's timeout: treated as failed
    MISMATCH = "MISMATCH"  # PhonePe reports another amount or order: an operator decides


@dataclass(frozen=True)
class StatusCheckPlan:
    """PhonePe's mandated polling while a payment is PENDING (docs/providers/phonepe.md, 'Status polling'):
    first check 20-25 s after the start, then every 3 s for 30 s, every 6 s for 60 s, every 10 s
    for 60 s, every 30 s for 60 s, then every 60 s until the payment's timeout."""

    first_check: timedelta = timedelta(seconds=20)
    timeout: timedelta = timedelta(minutes=20)
    # (every, for how long) after the first check.
    steps: tuple[tuple[int, int], ...] = ((3, 30), (6, 60), (10, 60), (30, 60))
    then_every: timedelta = timedelta(seconds=60)

    def first_check_at(self, started_at: datetime) -> datetime:
        return min(started_at + self.first_check, self.deadline(started_at))

    def next_check(self, started_at: datetime, now: datetime) -> datetime:
        """The first mandated check time strictly after `now` (the deadline at the latest)."""
        at = started_at + self.first_check
        if at > now:
            return min(at, self.deadline(started_at))
        for every, span in self.steps:
            end = at + timedelta(seconds=span)
            while at < end:
                at += timedelta(seconds=every)
                if at > now:
                    return min(at, self.deadline(started_at))
        while at <= now:
            at += self.then_every
        return min(at, self.deadline(started_at))

    def deadline(self, started_at: datetime) -> datetime:
        return started_at + self.timeout

    def timed_out(self, started_at: datetime, now: datetime) -> bool:
        return now >= self.deadline(started_at)


@dataclass(frozen=True)
class PaymentRecord:
    """What Bazaar remembers about an order's payment (one per order), next to the order."""

    order_id: str
    provider: str
    api_version: str
    merchant_order_id: str
    amount_paise: int
    started_at: datetime
    next_check_at: datetime | None  # None once settled
    state: CheckState = CheckState.OPEN
    checks: int = 0
    note: str | None = None  # why it settled as it did (mismatch details, timeout)

    @property
    def open(self) -> bool:
        return self.state is CheckState.OPEN


class Settlement(StrEnum):
    """What applying PhonePe's verdict did to the order (each maps to a metric and a log line)."""

    PAID = "paid"  # this call moved the order to PAID
    ALREADY_SETTLED = "already_settled"  # a duplicate or late verdict: nothing changed
    REFUND_NEEDED = "refund_needed"  # paid, but the order cannot be fulfilled: NEEDS_REFUND
    FAILED = "failed"  # PhonePe failed it: the order is PAYMENT_FAILED unless it had already left PAYMENT_PENDING
    EXPIRED = "expired"  # still pending after the timeout: treated as failed
    STILL_PENDING = "still_pending"  # next check scheduled
    MISMATCH = "mismatch"  # amount or id differ from ours: nothing fulfilled, flagged
    UNKNOWN_ORDER = "unknown_order"  # not an order (or refund) of ours: nothing changed
    REFUND_PROGRESSED = "refund_progressed"  # a confirmed refund webhook was applied to its order
