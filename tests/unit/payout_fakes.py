"""In-memory stand-ins for the payouts ports, keeping the conditions of the DynamoDB adapters
(bazaar.payouts.adapters.dynamodb): a settlement commits only while it is due and the order is
at the version read; a posting is written once; a claim needs the posting unclaimed; a payout
change needs the version it was made from; a held payee gets no payout. Every write checks all
its conditions before it changes anything, as a transaction does.

The provider fake keeps RazorpayX's idempotency-key store: the same key and body answer the
payout first made, so a test can make the create call fail after the payout was made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bazaar.identity.domain import AuditEntry
from bazaar.orders.domain import Order
from bazaar.payouts.domain import Hold, Payout, PayoutAccount, PayoutChange, PayoutsHeld, PayoutStatus
from bazaar.payouts.events import PayoutEvent
from bazaar.payouts.ledger import Claimable, CommissionRule, Posting
from bazaar.payouts.ports import BountyAward, ClaimLost, DueSettlement, OrderAsRead, StalePayout, StaleSettlement
from bazaar.payouts.provider import (
    Beneficiary, FundAccount, PayoutOrder, ProviderPayout, ProviderRejected, ProviderUnavailable,
)


class FakeOrders:
    """The order book as payouts read it (get only); `put` stands for another context's change."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def put(self, order: Order) -> None:
        self.orders[order.order_id] = order

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)


@dataclass
class FakeLedger:
    orders: FakeOrders
    postings: dict[str, Posting] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)  # posting id -> payout id
    settlements: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # order -> (state, due)
    bounties: dict[str, str] = field(default_factory=dict)  # recruit -> posting id
    outbox: list[PayoutEvent] = field(default_factory=list)
    # Called just before a settlement's conditions are checked: "somebody else" acting meanwhile.
    before_settle: list = field(default_factory=list)

    def note_delivery(self, order_id: str, due_at: datetime) -> bool:
        if order_id in self.settlements:
            return False
        self.settlements[order_id] = ("DUE", due_at)
        return True

    def due(self, now: datetime, limit: int) -> list[DueSettlement]:
        due = sorted((at, o) for o, (state, at) in self.settlements.items() if state == "DUE" and at <= now)
        return [DueSettlement(o, at) for at, o in due[:limit]]

    def is_settled(self, order_id: str) -> bool:
        return self.settlements.get(order_id, ("", None))[0] == "SETTLED"

    def postings_of_order(self, order_id: str) -> list[Posting]:
        return sorted((p for p in self.postings.values() if p.order_id == order_id),
                      key=lambda p: (p.posted_at, p.posting_id))

    def settle(self, order: OrderAsRead, postings: Sequence[Posting], bounty: BountyAward | None,
               at: datetime) -> None:
        for hook in self.before_settle:
            hook(order)
        current = self.orders.get(order.order_id)
        if (self.settlements.get(order.order_id, ("", None))[0] != "DUE" or current is None
                or current.version != order.version or any(p.posting_id in self.postings for p in postings)
                or (bounty is not None and bounty.recruit_id in self.bounties)):
            raise StaleSettlement()
        self.settlements[order.order_id] = ("SETTLED", self.settlements[order.order_id][1])
        for posting in postings:
            self.postings[posting.posting_id] = posting
        if bounty is not None:
            self.bounties[bounty.recruit_id] = bounty.posting.posting_id
            self.postings[bounty.posting.posting_id] = bounty.posting
            self.outbox.append(bounty.event)

    def post(self, order_id: str, postings: Sequence[Posting]) -> int:
        if not self.is_settled(order_id):
            raise StaleSettlement()
        new = [p for p in postings if p.posting_id not in self.postings]
        for posting in new:
            self.postings[posting.posting_id] = posting
        return len(new)

    def bounty_of(self, recruit_id: str) -> Posting | None:
        posting_id = self.bounties.get(recruit_id)
        return self.postings.get(posting_id) if posting_id else None

    def _claimable(self, posting: Posting) -> Claimable:
        return Claimable(posting.posting_id, posting.order_id, posting.net, posting.posted_at,
                         self.claims.get(posting.posting_id))

    def unclaimed(self, payee: str, limit: int) -> list[Claimable]:
        mine = sorted((p for p in self.postings.values() if p.payee == payee and p.posting_id not in self.claims),
                      key=lambda p: (p.posted_at, p.posting_id))
        return [self._claimable(p) for p in mine[:limit]]

    def claims_of(self, payee: str) -> list[Claimable]:
        return [self._claimable(p) for p in self.postings.values() if p.payee == payee]

    def postings_of(self, payee: str, limit: int, position):
        mine = sorted((p for p in self.postings.values() if p.payee == payee),
                      key=lambda p: (p.posted_at, p.posting_id), reverse=True)
        return mine[:limit], None

    def all_postings_of(self, payee: str, start=None, end=None) -> list[Posting]:
        return [p for p in self.postings.values() if p.payee == payee
                and (start is None or start <= p.posted_at) and (end is None or p.posted_at < end)]

    def payees_with_unclaimed(self, limit: int) -> list[str]:
        return sorted({p.payee for p in self.postings.values() if p.posting_id not in self.claims})[:limit]


@dataclass
class FakePayouts:
    ledger: FakeLedger
    payouts: dict[str, Payout] = field(default_factory=dict)
    accounts: dict[str, PayoutAccount] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    rules: dict[str, CommissionRule] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)

    def create(self, payout: Payout, claims: Sequence[Claimable], event: PayoutEvent,
               audit: AuditEntry | None = None) -> None:
        if payout.payee in self.holds:
            raise PayoutsHeld()
        if payout.payout_id in self.payouts or any(c.posting_id in self.ledger.claims for c in claims):
            raise ClaimLost()
        self.payouts[payout.payout_id] = payout
        for claim in claims:
            self.ledger.claims[claim.posting_id] = payout.payout_id
        self.ledger.outbox.append(event)
        if audit is not None:
            self.audit.append(audit)

    def get(self, payout_id: str) -> Payout | None:
        return self.payouts.get(payout_id)

    def apply(self, change: PayoutChange, event: PayoutEvent | None, audit: AuditEntry | None = None) -> Payout:
        after = change.after
        current = self.payouts.get(after.payout_id)
        if current is None or current.version != change.before.version:
            raise StalePayout()
        refs = [ref.posting_id for ref in after.postings]
        if change.releases_postings and any(self.ledger.claims.get(r) != after.payout_id for r in refs):
            raise ClaimLost()
        if change.reclaims_postings and any(r in self.ledger.claims for r in refs):
            raise ClaimLost()
        self.payouts[after.payout_id] = after
        for ref in refs:
            if change.releases_postings:
                del self.ledger.claims[ref]
            elif change.reclaims_postings:
                self.ledger.claims[ref] = after.payout_id
        if event is not None:
            self.ledger.outbox.append(event)
        if audit is not None:
            self.audit.append(audit)
        return after

    def of_payee(self, payee: str, limit: int, position):
        return self.all_of_payee(payee)[:limit], None

    def all_of_payee(self, payee: str) -> list[Payout]:
        return sorted((p for p in self.payouts.values() if p.payee == payee), key=lambda p: p.created_at, reverse=True)

    def find(self, status: PayoutStatus | None, limit: int, position):
        return [p for p in self.payouts.values() if status is None or p.status is status][:limit], None

    def open_due(self, before: datetime, limit: int) -> list[Payout]:
        return [p for p in self.payouts.values() if p.is_open and p.updated_at <= before][:limit]

    def account(self, payee: str) -> PayoutAccount | None:
        return self.accounts.get(payee)

    def save_account(self, account: PayoutAccount) -> None:
        self.accounts[account.payee] = account

    def hold(self, payee: str) -> Hold | None:
        return self.holds.get(payee)

    def set_hold(self, hold: Hold | None, payee: str, audit: AuditEntry) -> None:
        if hold is None:
            self.holds.pop(payee, None)
        else:
            self.holds[payee] = hold
        self.audit.append(audit)

    def commission_rules(self) -> tuple[CommissionRule, ...]:
        return tuple(self.rules.values())

    def save_commission_rule(self, rule: CommissionRule, audit: AuditEntry) -> None:
        self.rules[rule.scope] = rule
        self.audit.append(audit)


class FakeJobs:
    def __init__(self) -> None:
        self.queued: list[str] = []

    def enqueue(self, payout_id: str) -> None:
        self.queued.append(payout_id)


class FakePeople:
    def __init__(self, recruiters: dict[str, str] | None = None) -> None:
        self.recruiters = dict(recruiters or {})

    def recruiter_of(self, user_id: str) -> str | None:
        return self.recruiters.get(user_id)

    def email_of(self, user_id: str) -> str | None:
        return f"{user_id}@bazaar.test"


class FakeRazorpayX:
    """Payouts keyed by idempotency key. `fail_next` answers the next calls with these errors;
    `made_then_lost` makes the payout and then raises ProviderUnavailable (a timeout that still
    created); `status_of_new` is the status a new payout is created in."""

    def __init__(self) -> None:
        self.by_key: dict[str, tuple[PayoutOrder, ProviderPayout]] = {}
        self.fail_next: list[Exception] = []
        self.made_then_lost = 0
        self.status_of_new = "processing"
        self.calls = 0

    def register(self, beneficiary: Beneficiary) -> FundAccount:
        return FundAccount(contact_id=f"cont_{beneficiary.reference_id}", fund_account_id=f"fa_{beneficiary.reference_id}")

    def create_payout(self, order: PayoutOrder) -> ProviderPayout:
        self.calls += 1
        if self.fail_next:
            raise self.fail_next.pop(0)
        if order.idempotency_key in self.by_key:
            first, made = self.by_key[order.idempotency_key]
            if first != order:
                raise ProviderRejected("same key, other body", status=400, code="BAD_REQUEST_ERROR",
                                       field="X-Payout-Idempotency")
            return made
        made = ProviderPayout(payout_id=f"pout_{len(self.by_key) + 1}", status=self.status_of_new,
                              amount_paise=order.amount_paise, reference_id=order.reference_id, raw={})
        self.by_key[order.idempotency_key] = (order, made)
        if self.made_then_lost:
            self.made_then_lost -= 1
            raise ProviderUnavailable("read timed out")
        return made

    def fetch_payout(self, payout_id: str) -> ProviderPayout:
        return next(made for _, made in self.by_key.values() if made.payout_id == payout_id)

    def cancel_payout(self, payout_id: str) -> ProviderPayout:
        made = self.fetch_payout(payout_id)
        if made.status != "queued":
            raise ProviderRejected("only queued payouts can be cancelled", status=400, code="BAD_REQUEST_ERROR")
        cancelled = made.model_copy(update={"status": "cancelled"})
        for key, (order, payout) in self.by_key.items():
            if payout.payout_id == payout_id:
                self.by_key[key] = (order, cancelled)
        return cancelled

    @property
    def payouts_made(self) -> int:
        return len(self.by_key)
