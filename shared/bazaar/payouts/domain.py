"""Payouts: money leaving Bazaar for a seller or a scout, and the payee's payout account. Pure
Python.

A payout claims the payee's unclaimed postings (bazaar.payouts.ledger) when it is made: each
claim is conditional on the posting being unclaimed, in the payout's own transaction, so two
triggers racing for one balance make one payout and no posting is ever paid twice. A payout
that fails for good, is cancelled, or comes back reversed gives its postings back: the next
payout takes them again.

`TRANSITIONS` is the one table of which status may follow which. RazorpayX's statuses map onto
ours by `PROVIDER_STATUS` (docs/providers/razorpayx.md); a provider report that would move a
payout backwards (a late `processing` after `processed`) finds no row and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bazaar.money import Paise
from bazaar.payouts.ledger import PayeeRole, payee_account
from bazaar.platform.errors import BazaarError, Conflict, NotFound

MINIMUM_PAYOUT = Paise(100)  # RazorpayX refuses less than one rupee


class PayoutStatus(StrEnum):
    PENDING = "pending"  # made; not yet accepted by RazorpayX, or queued there (low balance)
    PROCESSING = "processing"  # RazorpayX is moving the money
    COMPLETED = "completed"  # the bank confirmed it (UTR known)
    FAILED = "failed"  # definitely not paid; its postings are back in the balance
    REVERSED = "reversed"  # paid, then returned by the bank; its postings are back in the balance


P = PayoutStatus

TRANSITIONS: dict[PayoutStatus, frozenset[PayoutStatus]] = {
    P.PENDING: frozenset({P.PROCESSING, P.COMPLETED, P.FAILED, P.REVERSED}),
    P.PROCESSING: frozenset({P.COMPLETED, P.FAILED, P.REVERSED}),
    # A bank can return money after RazorpayX said processed.
    P.COMPLETED: frozenset({P.REVERSED}),
    # Only an admin's retry (a new attempt, claiming the postings again) leaves FAILED.
    P.FAILED: frozenset({P.PENDING}),
    P.REVERSED: frozenset(),
}

# The statuses that hold their postings (a live payout).
HOLDS_POSTINGS = frozenset({P.PENDING, P.PROCESSING, P.COMPLETED})
OPEN = frozenset({P.PENDING, P.PROCESSING})

PROVIDER_STATUS: dict[str, PayoutStatus] = {
    "pending": P.PENDING,  # an approval workflow on the RazorpayX account
    "queued": P.PENDING,  # low balance: RazorpayX sends it when the account is topped up
    "scheduled": P.PENDING,
    "processing": P.PROCESSING,
    "processed": P.COMPLETED,
    "failed": P.FAILED,
    "rejected": P.FAILED,
    "cancelled": P.FAILED,
    "reversed": P.REVERSED,
}


@dataclass(frozen=True)
class PostingRef:
    """A posting a payout settles: where it is kept (its order) and its id."""

    order_id: str
    posting_id: str


class PayoutTrigger(StrEnum):
    SCHEDULE = "schedule"
    ADMIN = "admin"
    WITHDRAWAL = "withdrawal"  # a scout asked for their earnings


@dataclass(frozen=True)
class Payout:
    payout_id: str
    payee: str  # the payee account, "seller:usr_..." or "scout:usr_..."
    amount: Paise
    postings: tuple[PostingRef, ...]
    status: PayoutStatus
    fund_account_id: str
    mode: str  # IMPS / UPI / NEFT
    trigger: PayoutTrigger
    requested_by: str
    created_at: datetime
    updated_at: datetime
    attempt: int = 1
    version: int = 1
    provider_payout_id: str | None = None
    provider_status: str | None = None
    utr: str | None = None
    failure_reason: str | None = None
    provider_response: dict | None = None
    processed_at: datetime | None = None
    failed_at: datetime | None = None
    reversed_at: datetime | None = None
    # RazorpayX's payouts of this payout's failed attempts: their late reports are not this attempt's.
    earlier_provider_payout_ids: tuple[str, ...] = ()

    @property
    def role(self) -> PayeeRole:
        return PayeeRole(self.payee.partition(":")[0])

    @property
    def payee_id(self) -> str:
        return self.payee.partition(":")[2]

    @property
    def idempotency_key(self) -> str:
        """What RazorpayX dedupes the create call on: the same for every retry of one attempt (a
        timeout may have created it), new only for a new attempt after a definite failure."""
        return f"{self.payout_id}-{self.attempt}"

    @property
    def holds_postings(self) -> bool:
        return self.status in HOLDS_POSTINGS

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def narration(self) -> str:
        # RazorpayX: at most 30 letters, digits and spaces, shown on the payee's bank statement.
        return "Bazaar payout"

    def change(self, to: PayoutStatus, at: datetime, **facts) -> PayoutChange:
        if to not in TRANSITIONS[self.status]:
            raise PayoutTransitionRefused(self.status, to)
        after = replace(self, status=to, updated_at=at, version=self.version + 1, **facts)
        if to is P.COMPLETED and after.processed_at is None:
            after = replace(after, processed_at=at)
        if to is P.FAILED and after.failed_at is None:
            after = replace(after, failed_at=at)
        if to is P.REVERSED:
            after = replace(after, reversed_at=at)
        return PayoutChange(self, after)

    def note(self, at: datetime, **facts) -> PayoutChange:
        """A change of facts (the provider's id, a UTR) that keeps the status."""
        return PayoutChange(self, replace(self, updated_at=at, version=self.version + 1, **facts))


@dataclass(frozen=True)
class PayoutChange:
    """One change of a payout, written conditionally on the version it was made from."""

    before: Payout
    after: Payout

    @property
    def releases_postings(self) -> bool:
        return self.before.holds_postings and not self.after.holds_postings

    @property
    def reclaims_postings(self) -> bool:
        return not self.before.holds_postings and self.after.holds_postings

    @property
    def status_changed(self) -> bool:
        return self.before.status is not self.after.status


def provider_report(payout: Payout, provider_status: str, at: datetime, *, provider_payout_id: str | None,
                    utr: str | None, failure_reason: str | None, response: dict | None) -> PayoutChange | None:
    """What RazorpayX's word on the payout (a create answer, a webhook, a status poll) changes;
    None when it changes nothing (a duplicate, a late or backward report, another attempt's)."""
    if payout.provider_payout_id and provider_payout_id and provider_payout_id != payout.provider_payout_id:
        return None  # about an earlier attempt's payout
    if provider_payout_id in payout.earlier_provider_payout_ids:
        return None  # about a failed attempt's payout, while this attempt's is not known yet
    wanted = PROVIDER_STATUS.get(provider_status)
    if wanted is None:
        return None
    facts: dict = {"provider_status": provider_status, "provider_response": response}
    news = False
    if provider_payout_id and not payout.provider_payout_id:
        facts["provider_payout_id"] = provider_payout_id
        news = True
    if utr and utr != payout.utr:
        facts["utr"] = utr
        news = True
    if wanted is payout.status:
        # The same status again: news only if it says something new (its UTR, queued vs pending).
        return payout.note(at, **facts) if news or provider_status != payout.provider_status else None
    if wanted is P.PENDING or wanted not in TRANSITIONS[payout.status]:
        return None  # backwards, or out of a final status
    if wanted is P.FAILED:
        facts["failure_reason"] = failure_reason or f"RazorpayX: {provider_status}"
    return payout.change(wanted, at, **facts)


# -- payout accounts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutAccount:
    """Where a payee's money goes: the fund account at RazorpayX. Only a masked account number
    is kept."""

    payee: str
    kind: str  # "bank_account" | "vpa"
    masked: str
    holder_name: str
    contact_id: str
    fund_account_id: str
    registered_at: datetime
    ifsc: str | None = None

    @property
    def mode(self) -> str:
        return "UPI" if self.kind == "vpa" else "IMPS"


@dataclass(frozen=True)
class Hold:
    payee: str
    reason: str
    by: str
    at: datetime


def seller(user_id: str) -> str:
    return payee_account(PayeeRole.SELLER, user_id)


def scout(user_id: str) -> str:
    return payee_account(PayeeRole.SCOUT, user_id)


# -- refusals ----------------------------------------------------------------------------------


class PayoutNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such payout.")


class PayoutTransitionRefused(Conflict):
    code = "INVALID_STATE_TRANSITION"

    def __init__(self, current: PayoutStatus, wanted: PayoutStatus) -> None:
        super().__init__(f"A {current} payout cannot become {wanted}.")


class NothingToPay(Conflict):
    code = "NOTHING_TO_PAY"

    def __init__(self, available: Paise, minimum: Paise) -> None:
        super().__init__(f"The available balance ({available.amount} paise) is below the minimum payout "
                         f"({minimum.amount} paise).",
                         details=[{"field": "balance", "issue": f"at least {minimum.amount} paise needed"}])


class WithdrawalExceedsBalance(Conflict):
    code = "WITHDRAWAL_EXCEEDS_BALANCE"

    def __init__(self, asked: Paise, available: Paise) -> None:
        super().__init__(f"You asked for {asked.amount} paise but {available.amount} paise are available.",
                         details=[{"field": "amount_paise", "issue": f"at most {available.amount}"}])


class PayoutAccountMissing(Conflict):
    code = "PAYOUT_ACCOUNT_MISSING"

    def __init__(self) -> None:
        super().__init__("Register a payout account (bank account or UPI address) first.")


class PayoutsHeld(Conflict):
    code = "PAYOUTS_HELD"

    def __init__(self) -> None:
        super().__init__("Payouts to this payee are on hold; an admin must release them first.")


class PayoutAccountRejected(BazaarError):
    code = "PAYOUT_ACCOUNT_INVALID"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, details=[{"field": field or "account", "issue": message}])


class PayoutProviderUnavailable(BazaarError):
    code = "PAYOUT_PROVIDER_UNAVAILABLE"

    def __init__(self) -> None:
        super().__init__("RazorpayX did not answer; nothing was changed. Try again shortly.")
