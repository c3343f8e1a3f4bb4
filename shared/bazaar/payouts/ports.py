"""What the payouts use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bazaar.identity.domain import AuditEntry
from bazaar.payouts.domain import Hold, Payout, PayoutAccount, PayoutChange, PayoutStatus
from bazaar.payouts.events import PayoutEvent
from bazaar.payouts.ledger import Claimable, CommissionRule, Posting


@dataclass(frozen=True)
class DueSettlement:
    order_id: str
    due_at: datetime


@dataclass(frozen=True)
class OrderAsRead:
    """The order's version the settlement was computed from: the settlement is written only if
    the order is still at it (a refund completing meanwhile makes it read again)."""

    order_id: str
    version: int


@dataclass(frozen=True)
class BountyAward:
    posting: Posting
    recruit_id: str
    event: PayoutEvent


class StaleSettlement(Exception):
    """The order changed (or the settlement was written) since it was read; nothing was written."""


class ClaimLost(Exception):
    """Another payout claimed one of the postings first; nothing was written."""


class Ledger(Protocol):
    def note_delivery(self, order_id: str, due_at: datetime) -> bool:
        """Marks the order's settlement due at `due_at`, once; False if it was marked before."""

    def due(self, now: datetime, limit: int) -> list[DueSettlement]:
        """Settlements due by now, oldest first."""

    def is_settled(self, order_id: str) -> bool: ...

    def postings_of_order(self, order_id: str) -> list[Posting]: ...

    def settle(self, order: OrderAsRead, postings: Sequence[Posting], bounty: BountyAward | None,
               at: datetime) -> None:
        """The order's postings (and a bounty, once per recruit) in one transaction, conditional
        on the settlement still being due and the order still at the version read;
        StaleSettlement otherwise. A bounty already earned by another order is left out."""

    def post(self, order_id: str, postings: Sequence[Posting]) -> int:
        """Postings after the settlement (reversals, clawbacks), each at most once, conditional on
        the order being settled; returns how many were new. StaleSettlement if not settled."""

    def bounty_of(self, recruit_id: str) -> Posting | None: ...

    def unclaimed(self, payee: str, limit: int) -> list[Claimable]:
        """The payee's postings no payout holds, oldest first."""

    def claims_of(self, payee: str) -> list[Claimable]:
        """Every posting of the payee, with the payout holding it if any."""

    def postings_of(self, payee: str, limit: int, position: dict[str, Any] | None
                    ) -> tuple[list[Posting], dict[str, Any] | None]:
        """The payee's postings, newest first, a page at a time."""

    def all_postings_of(self, payee: str, start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        ...

    def payees_with_unclaimed(self, limit: int) -> list[str]:
        """Payees that have unclaimed postings (what the payout run visits)."""


class Payouts(Protocol):
    def create(self, payout: Payout, claims: Sequence[Claimable], event: PayoutEvent,
               audit: AuditEntry | None = None) -> None:
        """The payout, its claims on each posting (each conditional on being unclaimed), its
        event and an admin's audit entry, in one transaction, conditional on the payee not being
        on hold; ClaimLost or PayoutsHeld otherwise."""

    def get(self, payout_id: str) -> Payout | None: ...

    def apply(self, change: PayoutChange, event: PayoutEvent | None, audit: AuditEntry | None = None) -> Payout:
        """Writes the change conditional on the version it was made from (StalePayout otherwise);
        a change that gives postings back releases them, one that takes them again re-claims
        them (ClaimLost if one was taken meanwhile); the event is written with it."""

    def of_payee(self, payee: str, limit: int, position: dict[str, Any] | None
                 ) -> tuple[list[Payout], dict[str, Any] | None]: ...

    def all_of_payee(self, payee: str) -> list[Payout]: ...

    def find(self, status: PayoutStatus | None, limit: int, position: dict[str, Any] | None
             ) -> tuple[list[Payout], dict[str, Any] | None]: ...

    def open_due(self, before: datetime, limit: int) -> list[Payout]:
        """Open payouts (pending, processing) last changed before `before`: the status poll's."""

    def account(self, payee: str) -> PayoutAccount | None: ...

    def save_account(self, account: PayoutAccount) -> None: ...

    def hold(self, payee: str) -> Hold | None: ...

    def set_hold(self, hold: Hold | None, payee: str, audit: AuditEntry) -> None:
        """Places (or with None lifts) the hold, with its audit entry, in one transaction."""

    def commission_rules(self) -> tuple[CommissionRule, ...]: ...

    def save_commission_rule(self, rule: CommissionRule, audit: AuditEntry) -> None: ...


class StalePayout(Exception):
    """The payout changed since it was read; nothing was written."""


class PayoutJobs(Protocol):
    def enqueue(self, payout_id: str) -> None: ...


class People(Protocol):
    def recruiter_of(self, user_id: str) -> str | None:
        """The scout who recruited this user, if any."""

    def email_of(self, user_id: str) -> str | None:
        """Where RazorpayX may write to the payee about their payouts."""
