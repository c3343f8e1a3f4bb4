"""The settlement ledger: what each seller and scout has earned, in integer paise. Pure Python.

A `Posting` is one journal entry, written once and never changed: the entries of one business
fact (an order's sale to one seller, the reversal of one refund for that seller, a scout's
bounty or its clawback), each entry naming the account it moves money on, its kind, and the
rate and base it was computed from. Every deduction from a payee is two entries: minus on the
payee, plus on the account that keeps it (platform commission, gateway fees, GST TCS, income-tax
TDS), so the entries of an order always sum to exactly what the shopper paid, net of refunds.
Corrections are new postings. A payee's balance is the sum of their postings' net amounts.

Rounding is explicit: a rate applied to an amount rounds half up to the paisa (`Paise.share_bps`);
an amount split over parts is apportioned by largest remainder, so the parts sum to the whole;
a reversal reverses, of each deduction, the share of the cumulative refund minus what earlier
reversals took back, so repeated partial refunds never take back more than was deducted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bazaar.money import Paise

PLATFORM_COMMISSION = "platform:commission"
PLATFORM_GATEWAY_FEES = "platform:gateway-fees"
PLATFORM_BOUNTIES = "platform:bounties"
TAX_TCS = "tax:gst-tcs"
TAX_TDS = "tax:income-tax-tds"


class PayeeRole(StrEnum):
    SELLER = "seller"
    SCOUT = "scout"


def payee_account(role: PayeeRole, user_id: str) -> str:
    return f"{role.value}:{user_id}"


def payee_of(account: str) -> tuple[PayeeRole, str]:
    role, _, user_id = account.partition(":")
    return PayeeRole(role), user_id


class EntryKind(StrEnum):
    SALE = "sale"  # the seller's line totals
    COMMISSION = "commission"  # the platform's commission on those lines
    GATEWAY_FEE = "gateway_fee"  # what the payment gateway charged for taking the money
    TCS = "tcs"  # GST tax collected at source by the e-commerce operator (CGST Act s.52)
    TDS = "tds"  # income-tax deducted at source by the e-commerce operator (s.194-O)
    BOUNTY = "bounty"  # a scout's reward for a recruit's first order


class PostingKind(StrEnum):
    SALE = "sale"
    REFUND_REVERSAL = "refund_reversal"
    BOUNTY = "bounty"
    BOUNTY_CLAWBACK = "bounty_clawback"


# Where each deduction from a seller's sale goes.
COLLECTED_BY: dict[EntryKind, str] = {
    EntryKind.COMMISSION: PLATFORM_COMMISSION,
    EntryKind.GATEWAY_FEE: PLATFORM_GATEWAY_FEES,
    EntryKind.TCS: TAX_TCS,
    EntryKind.TDS: TAX_TDS,
}
DEDUCTIONS = tuple(COLLECTED_BY)


@dataclass(frozen=True)
class Entry:
    account: str
    kind: EntryKind
    amount: Paise  # signed: plus is money the account is owed
    rate_bps: int | None = None  # the rate it was computed at, where it is a rate
    base: Paise | None = None  # what the rate was applied to


@dataclass(frozen=True)
class Posting:
    posting_id: str  # made from the fact it records, so writing the same fact twice is refused
    kind: PostingKind
    payee: str  # the payee account this posting pays (or takes from)
    order_id: str
    posted_at: datetime
    entries: tuple[Entry, ...]
    note: str = ""

    @property
    def net(self) -> Paise:
        """What it adds to the payee's balance."""
        return sum((e.amount for e in self.entries if e.account == self.payee), Paise.zero())

    @property
    def total(self) -> Paise:
        """What it adds to the order's money (the sale: what the shopper paid for these lines;
        counter entries cancel out)."""
        return sum((e.amount for e in self.entries), Paise.zero())

    def of_kind(self, kind: EntryKind, account: str | None = None) -> Paise:
        return sum((e.amount for e in self.entries if e.kind is kind and e.account == (account or self.payee)),
                   Paise.zero())


# -- rates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionRule:
    """A commission rate for a seller, a category, or a seller's category. The most specific rule
    that matches a line wins: seller and category, then seller, then category, then the default.
    `minimum`/`maximum` clamp the commission of one line."""

    bps: int
    seller_id: str | None = None
    category: str | None = None
    minimum: Paise | None = None
    maximum: Paise | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.bps <= 10_000:
            raise ValueError("commission must be 0..10000 basis points")
        if self.minimum and self.maximum and self.minimum > self.maximum:
            raise ValueError("the minimum commission is above the maximum")

    @property
    def scope(self) -> str:
        return f"seller={self.seller_id or '*'}/category={self.category or '*'}"

    @property
    def specificity(self) -> int:
        return (2 if self.seller_id else 0) + (1 if self.category else 0)

    def matches(self, seller_id: str, category: str) -> bool:
        return self.seller_id in (None, seller_id) and self.category in (None, category)

    def commission_on(self, line_total: Paise) -> Paise:
        amount = line_total.share_bps(self.bps)
        if self.minimum is not None and amount < self.minimum:
            amount = self.minimum
        if self.maximum is not None and amount > self.maximum:
            amount = self.maximum
        return min(amount, line_total)


@dataclass(frozen=True)
class Rates:
    """What the operator has set (settings in basis points; an operator must confirm the tax
    rates in force)."""

    default_commission_bps: int
    gateway_fee_bps: int
    tcs_bps: int
    tds_bps: int
    rules: tuple[CommissionRule, ...] = ()

    def commission_rule(self, seller_id: str, category: str) -> CommissionRule:
        matching = [r for r in self.rules if r.matches(seller_id, category)]
        if not matching:
            return CommissionRule(self.default_commission_bps)
        return max(matching, key=lambda r: r.specificity)


# -- the sale ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoldLine:
    seller_id: str
    category: str
    total: Paise


@dataclass(frozen=True)
class Refunded:
    refund_id: str  # the merchant refund id: one reversal per refund
    amount: Paise


@dataclass(frozen=True)
class SettledOrder:
    """An order as the ledger needs it: what was sold by whom, the money taken and refunded."""

    order_id: str
    customer_id: str
    lines: tuple[SoldLine, ...]
    refunds: tuple[Refunded, ...] = ()  # completed refunds, in the order they completed

    @property
    def paid(self) -> Paise:
        return sum((line.total for line in self.lines), Paise.zero())

    @property
    def refunded(self) -> Paise:
        return sum((r.amount for r in self.refunds), Paise.zero())

    @property
    def sellers(self) -> tuple[str, ...]:
        return tuple(sorted({line.seller_id for line in self.lines}))

    def gross_of(self, seller_id: str) -> Paise:
        return sum((line.total for line in self.lines if line.seller_id == seller_id), Paise.zero())


class UnattributedLine(Exception):
    """A line names no seller (orders placed before lines did): an operator must settle it."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"Order {order_id} has a line without a seller; nobody can be paid for it.")


def sale_posting_id(order_id: str, seller_id: str) -> str:
    return f"sale:{order_id}:{seller_id}"


def sale_postings(order: SettledOrder, rates: Rates, at: datetime) -> tuple[Posting, ...]:
    """Each seller's share of the order, once its return window has passed: line totals minus
    commission (per line, by the most specific rule), gateway fee, TCS and TDS (on the seller's
    gross). Deductions are taken in that order and each is capped at what is left, so a seller's
    net is never negative."""
    if any(not line.seller_id for line in order.lines):
        raise UnattributedLine(order.order_id)
    postings = []
    for seller_id in order.sellers:
        lines = [line for line in order.lines if line.seller_id == seller_id]
        gross = sum((line.total for line in lines), Paise.zero())
        payee = payee_account(PayeeRole.SELLER, seller_id)
        entries = [Entry(payee, EntryKind.SALE, gross)]
        left = gross
        commission = Paise.zero()
        rule_rates: set[int] = set()
        for line in lines:
            rule = rates.commission_rule(seller_id, line.category)
            rule_rates.add(rule.bps)
            commission += rule.commission_on(line.total)
        # One rate where all lines had one; None (see the lines' rules) where they differed.
        deductions: list[tuple[EntryKind, Paise, int | None]] = [
            (EntryKind.COMMISSION, min(commission, left), rule_rates.pop() if len(rule_rates) == 1 else None)]
        left -= deductions[0][1]
        for kind, bps in ((EntryKind.GATEWAY_FEE, rates.gateway_fee_bps), (EntryKind.TCS, rates.tcs_bps),
                          (EntryKind.TDS, rates.tds_bps)):
            amount = min(gross.share_bps(bps), left)
            left -= amount
            deductions.append((kind, amount, bps))
        for kind, amount, rate in deductions:
            entries.append(Entry(payee, kind, Paise(-amount.amount), rate, gross))
            entries.append(Entry(COLLECTED_BY[kind], kind, amount, rate, gross))
        postings.append(Posting(sale_posting_id(order.order_id, seller_id), PostingKind.SALE, payee,
                                order.order_id, at, tuple(entries), note=f"sale of order {order.order_id}"))
    return tuple(postings)


# -- refunds -----------------------------------------------------------------------------------


def apportion(total: Paise, weights: Sequence[int]) -> list[Paise]:
    """`total` split in proportion to `weights`, by largest remainder: the parts sum to `total`
    exactly, and ties go to the earlier part."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must sum to more than zero")
    sign = -1 if total.amount < 0 else 1
    amount = abs(total.amount)
    floors = [amount * w // whole for w in weights]
    remainders = [amount * w % whole for w in weights]
    short = amount - sum(floors)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:short]:
        floors[index] += 1
    return [Paise(sign * f) for f in floors]


def _within_room(parts: list[Paise], room: list[int]) -> list[Paise]:
    """The parts, each capped at its seller's room (what earlier refunds left of their sale), the
    excess moved to the sellers with room left, most room first: the parts still sum to the
    refund, and no seller is ever charged back more than they sold."""
    amounts = [min(p.amount, r) for p, r in zip(parts, room, strict=True)]
    excess = sum(p.amount for p in parts) - sum(amounts)
    for index in sorted(range(len(room)), key=lambda i: (-(room[i] - amounts[i]), i)):
        moved = min(excess, room[index] - amounts[index])
        amounts[index] += moved
        excess -= moved
    return [Paise(a) for a in amounts]


def reversal_posting_id(refund_id: str, seller_id: str) -> str:
    return f"reversal:{refund_id}:{seller_id}"


def _share(amount: Paise, numerator: int, denominator: int) -> Paise:
    """amount x numerator / denominator, rounded half up (amounts and shares are never negative here)."""
    return Paise((amount.amount * numerator * 2 + denominator) // (denominator * 2))


def reversal_postings(order: SettledOrder, sales: Sequence[Posting], earlier: Sequence[Posting],
                      at: datetime) -> tuple[Posting, ...]:
    """What each refund not yet reversed takes back from the sellers' sale postings. Each refund
    is apportioned over the sellers by their gross, capped at what earlier refunds left of each
    sale (so no seller is ever charged back more than they sold, and the parts sum to the
    refund); refunds already reversed count as they were posted. Of each deduction, the share of
    the seller's cumulative refund minus what earlier refunds took back is given back to them, so
    a full refund, however many parts it came in, reverses everything exactly."""
    posted = {p.posting_id: Paise(-p.of_kind(EntryKind.SALE).amount) for p in earlier
              if p.kind is PostingKind.REFUND_REVERSAL}
    by_seller = {payee_of(p.payee)[1]: p for p in sales}
    sellers = sorted(by_seller)
    if not sellers:
        return ()
    grosses = [by_seller[s].of_kind(EntryKind.SALE).amount for s in sellers]
    postings: list[Posting] = []
    charged = {s: Paise.zero() for s in sellers}  # what the refunds so far took from each seller
    for refund in order.refunds:
        parts = _within_room(apportion(refund.amount, grosses),
                             [grosses[n] - charged[s].amount for n, s in enumerate(sellers)])
        for seller_id, part in zip(sellers, parts, strict=True):
            posting_id = reversal_posting_id(refund.refund_id, seller_id)
            sale = by_seller[seller_id]
            gross = sale.of_kind(EntryKind.SALE)
            before = charged[seller_id]
            after = before + posted.get(posting_id, part)
            charged[seller_id] = after
            if posting_id in posted or after == before:
                continue  # posted before (or nothing of this refund is this seller's)
            payee = sale.payee
            entries = [Entry(payee, EntryKind.SALE, Paise(before.amount - after.amount))]
            for kind in DEDUCTIONS:
                deducted = Paise(-sale.of_kind(kind).amount)
                take_back = (_share(deducted, after.amount, gross.amount)
                             - _share(deducted, before.amount, gross.amount))
                rate = next((e.rate_bps for e in sale.entries if e.kind is kind), None)
                entries.append(Entry(payee, kind, take_back, rate, Paise(after.amount - before.amount)))
                entries.append(Entry(COLLECTED_BY[kind], kind, Paise(-take_back.amount), rate,
                                     Paise(after.amount - before.amount)))
            postings.append(Posting(posting_id, PostingKind.REFUND_REVERSAL, payee, order.order_id, at,
                                    tuple(entries), note=f"refund {refund.refund_id} of order {order.order_id}"))
    return tuple(postings)


# -- scouts ------------------------------------------------------------------------------------


def bounty_posting_id(recruit_id: str) -> str:
    # One per recruit, whichever of their orders earns it.
    return f"bounty:{recruit_id}"


def bounty_posting(scout_id: str, recruit_id: str, order_id: str, amount: Paise, at: datetime) -> Posting:
    payee = payee_account(PayeeRole.SCOUT, scout_id)
    return Posting(bounty_posting_id(recruit_id), PostingKind.BOUNTY, payee, order_id, at,
                   (Entry(payee, EntryKind.BOUNTY, amount), Entry(PLATFORM_BOUNTIES, EntryKind.BOUNTY, Paise(-amount.amount))),
                   note=f"first order {order_id} of your recruit")


def clawback_posting(bounty: Posting, at: datetime) -> Posting:
    """The bounty taken back because the order that earned it was refunded in full; netted
    against the scout's next payout."""
    return Posting(f"clawback:{bounty.posting_id}", PostingKind.BOUNTY_CLAWBACK, bounty.payee, bounty.order_id, at,
                   tuple(Entry(e.account, e.kind, Paise(-e.amount.amount)) for e in bounty.entries),
                   note=f"order {bounty.order_id} was refunded in full")


# -- balances ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    """A payee's money, from the ledger: `earned` is every posting's net; of it, `paid_out` went
    out in completed payouts, `in_flight` is claimed by payouts not yet completed, and
    `available` is unclaimed (what the next payout may take)."""

    earned: Paise
    paid_out: Paise
    in_flight: Paise
    available: Paise

    @property
    def balanced(self) -> bool:
        """Each figure is read on its own (postings, payouts); they must agree."""
        return self.earned == self.paid_out + self.in_flight + self.available


@dataclass(frozen=True)
class Claimable:
    """A posting as a payout sees it: its net and who, if anyone, has claimed it."""

    posting_id: str
    order_id: str
    net: Paise
    posted_at: datetime
    payout_id: str | None = None


@dataclass(frozen=True)
class Statement:
    """A seller's money for a period, by kind (reversals netted in)."""

    seller_id: str
    start: datetime
    end: datetime
    gross: Paise = field(default_factory=Paise.zero)
    commission: Paise = field(default_factory=Paise.zero)
    gateway_fees: Paise = field(default_factory=Paise.zero)
    tcs: Paise = field(default_factory=Paise.zero)
    tds: Paise = field(default_factory=Paise.zero)
    lines: tuple[Posting, ...] = field(default=(), compare=False)

    @property
    def net(self) -> Paise:
        return self.gross - self.commission - self.gateway_fees - self.tcs - self.tds


def statement_of(seller_id: str, postings: Iterable[Posting], start: datetime, end: datetime) -> Statement:
    chosen = tuple(p for p in postings if start <= p.posted_at < end)

    def total(kind: EntryKind) -> Paise:
        return sum((p.of_kind(kind) for p in chosen), Paise.zero())

    return Statement(seller_id, start, end, gross=total(EntryKind.SALE),
                     commission=Paise(-total(EntryKind.COMMISSION).amount),
                     gateway_fees=Paise(-total(EntryKind.GATEWAY_FEE).amount),
                     tcs=Paise(-total(EntryKind.TCS).amount), tds=Paise(-total(EntryKind.TDS).amount), lines=chosen)
