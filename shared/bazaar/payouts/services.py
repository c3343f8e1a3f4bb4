"""Use cases of payouts: an order's earnings become payable when its return window has passed,
refunds take them back, payees are paid through RazorpayX, and RazorpayX's word on a payout
(its answer, a webhook, a status poll) moves it forward only."""

from __future__ import annotations

import csv
import io
from time import sleep
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bazaar.identity.domain import AuditAction, AuditEntry
from bazaar.money import Paise
from bazaar.orders.domain import Order, OrderStatus, RefundState
from bazaar.orders.events import OrderEvent, OrderEventType
from bazaar.orders.ports import OrderBook
from bazaar.payouts.domain import (
    MINIMUM_PAYOUT,
    Hold,
    NothingToPay,
    Payout,
    PayoutAccount,
    PayoutAccountMissing,
    PayoutAccountRejected,
    PayoutChange,
    PayoutNotFound,
    PayoutProviderUnavailable,
    PayoutsHeld,
    PayoutStatus,
    PayoutTransitionRefused,
    PayoutTrigger,
    WithdrawalExceedsBalance,
    PostingRef,
    provider_report,
)
from bazaar.payouts.events import PayoutEvent, PayoutEventType, bounty_event_id, payout_event_id
from bazaar.payouts.ledger import (
    Balance,
    Claimable,
    CommissionRule,
    PayeeRole,
    Posting,
    PostingKind,
    Rates,
    Refunded,
    SettledOrder,
    SoldLine,
    Statement,
    bounty_posting,
    clawback_posting,
    payee_of,
    reversal_postings,
    sale_postings,
    statement_of,
)
from bazaar.payouts.ports import (
    BountyAward,
    ClaimLost,
    Ledger,
    OrderAsRead,
    PayoutJobs,
    Payouts,
    People,
    StalePayout,
    StaleSettlement,
)
from bazaar.payouts.provider import (
    Beneficiary,
    Destination,
    PayoutOrder,
    PayoutProvider,
    ProviderPayout,
    ProviderRejected,
    ProviderUnavailable,
    masked,
)
from bazaar.platform.clock import Clock
from bazaar.platform.errors import BazaarError, Conflict
from bazaar.platform.faults import crash_point
from bazaar.platform.observability import logger, metrics

# A payout's claims, its own item, the hold check and its event fit one transaction (100 items).
MAX_POSTINGS_PER_PAYOUT = 96
# How long a payout may sit unsent before the status poll queues its job again (a job lost
# between the payout's commit and its enqueue, or parked in the DLQ after an outage).
UNSENT_GRACE = timedelta(minutes=5)
# Between a create call whose outcome is unknown and the same call again (the processor's
# timeout allows two calls at the client's read timeout and this pause).
RETRY_PAUSE_SECONDS = 1.0
# Statuses in which a delivered order's earnings can be settled.
SETTLEABLE = frozenset({OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED})


@dataclass(frozen=True)
class PayoutPolicy:
    return_window: timedelta
    default_commission_bps: int
    gateway_fee_bps: int
    tcs_bps: int
    tds_bps: int
    scout_bounty: Paise
    seller_minimum: Paise
    scout_minimum: Paise
    # How long an open payout goes unheard of before the status poll asks RazorpayX about it.
    status_poll_after: timedelta

    def minimum_for(self, role: PayeeRole) -> Paise:
        return max(self.scout_minimum if role is PayeeRole.SCOUT else self.seller_minimum, MINIMUM_PAYOUT)


@dataclass(frozen=True)
class Earnings:
    """What the payouts use cases need (bazaar.payouts.wiring builds it)."""

    ledger: Ledger
    payouts: Payouts
    orders: OrderBook
    people: People
    jobs: PayoutJobs
    provider: Callable[[], PayoutProvider]
    policy: PayoutPolicy
    clock: Clock
    new_id: Callable[[str], str]
    # How a use case waits before asking RazorpayX again (tests hand it a no-op).
    pause: Callable[[float], None] = sleep

    def rates(self) -> Rates:
        return Rates(self.policy.default_commission_bps, self.policy.gateway_fee_bps, self.policy.tcs_bps,
                     self.policy.tds_bps, self.payouts.commission_rules())


@dataclass(frozen=True)
class Admin:
    actor_id: str
    request_id: str
    reason: str


# -- earnings from orders ----------------------------------------------------------------------


REFUNDS = (OrderEventType.PARTIALLY_REFUNDED, OrderEventType.REFUNDED)
# The order events payouts react to (the description routes exactly these to payout-order-events).
FOLLOWED_EVENTS = tuple(sorted(t.value for t in (OrderEventType.DELIVERED, *REFUNDS)))


def follow_order_event(event: OrderEvent, kit: Earnings) -> str:
    """Delivered: the order's settlement falls due when its return window has passed. A refund
    completed after the settlement: its reversal (and a bounty's clawback) is posted. Returns
    what it did, for the log."""
    if event.event_type is OrderEventType.DELIVERED:
        first = kit.ledger.note_delivery(event.order_id, event.occurred_at + kit.policy.return_window)
        return "settlement scheduled" if first else "settlement already scheduled"
    if event.event_type in REFUNDS:
        if not kit.ledger.is_settled(event.order_id):
            return "not settled yet: the settlement will net the refund"
        return f"{reverse_refunds(event.order_id, kit)} reversal postings"
    return "not for payouts"


def _sold(order: Order) -> SettledOrder:
    return SettledOrder(
        order_id=order.order_id, customer_id=order.customer_id,
        lines=tuple(SoldLine(line.seller_id, line.category, line.total) for line in order.lines),
        refunds=tuple(Refunded(r.merchant_refund_id, r.amount) for r in order.refunds
                      if r.state is RefundState.COMPLETED),
    )


def settle_due(kit: Earnings, limit: int = 100) -> dict[str, int]:
    """The schedule's run: every order whose return window has passed is settled."""
    outcome = {"settled": 0, "skipped": 0}
    for due in kit.ledger.due(kit.clock(), limit):
        outcome["settled" if settle_order(due.order_id, kit) else "skipped"] += 1
    return outcome


def settle_order(order_id: str, kit: Earnings, tries: int = 3) -> bool:
    """Posts the order's sale postings, the reversals of refunds completed before the window
    passed, and the recruiting scout's bounty if this is the recruit's first settled order, all
    in one transaction conditional on the order being unchanged since read."""
    for _ in range(tries):
        order = kit.orders.get(order_id)
        if order is None or order.status not in SETTLEABLE:
            logger.error("a due settlement's order is not settleable; left due",
                         extra={"order_id": order_id, "status": order.status.value if order else None})
            return False
        at = kit.clock()
        sold = _sold(order)
        sales = sale_postings(sold, kit.rates(), at)
        postings = (*sales, *reversal_postings(sold, sales, (), at))
        try:
            kit.ledger.settle(OrderAsRead(order.order_id, order.version), postings, _bounty(order, sold, kit, at), at)
        except StaleSettlement:
            if kit.ledger.is_settled(order_id):
                return False
            continue
        logger.info("order settled", extra={"order_id": order_id, "postings": len(postings)})
        return True
    raise Conflict(f"Order {order_id} kept changing while it was being settled; the schedule will retry.")


def _bounty(order: Order, sold: SettledOrder, kit: Earnings, at: datetime) -> BountyAward | None:
    if sold.refunded >= sold.paid or kit.policy.scout_bounty.amount <= 0:
        return None
    scout_id = kit.people.recruiter_of(order.customer_id)
    if scout_id is None or kit.ledger.bounty_of(order.customer_id) is not None:
        return None
    posting = bounty_posting(scout_id, order.customer_id, order.order_id, kit.policy.scout_bounty, at)
    event = PayoutEvent(bounty_event_id(order.customer_id), PayoutEventType.BOUNTY_EARNED, scout_id,
                        PayeeRole.SCOUT.value, kit.policy.scout_bounty.amount, at, posting.posting_id, 1,
                        reason=f"your recruit's first order {order.order_id} passed its return window",
                        facts={"order_id": order.order_id})
    return BountyAward(posting, order.customer_id, event)


def reverse_refunds(order_id: str, kit: Earnings) -> int:
    """The reversal hook: posts, for every completed refund of a settled order not reversed yet,
    what it takes back from each seller, and claws a scout's bounty back once the order is
    refunded in full. The next payout nets them. Safe to call any number of times."""
    order = kit.orders.get(order_id)
    if order is None:
        return 0
    existing = kit.ledger.postings_of_order(order_id)
    sales = [p for p in existing if p.kind is PostingKind.SALE]
    at = kit.clock()
    sold = _sold(order)
    new: list[Posting] = list(reversal_postings(sold, sales, existing, at))
    if sold.refunded >= sold.paid:
        bounty = next((p for p in existing if p.kind is PostingKind.BOUNTY), None)
        if bounty and not any(p.posting_id == f"clawback:{bounty.posting_id}" for p in existing):
            new.append(clawback_posting(bounty, at))
    return kit.ledger.post(order_id, new) if new else 0


# -- balances and statements ---------------------------------------------------------------


def balance_of(payee: str, kit: Earnings) -> Balance:
    claims = kit.ledger.claims_of(payee)
    payouts = kit.payouts.all_of_payee(payee)
    return Balance(
        earned=sum((c.net for c in claims), Paise.zero()),
        paid_out=sum((p.amount for p in payouts if p.status is PayoutStatus.COMPLETED), Paise.zero()),
        in_flight=sum((p.amount for p in payouts if p.is_open), Paise.zero()),
        available=sum((c.net for c in claims if c.payout_id is None), Paise.zero()),
    )


def earnings_page(payee: str, kit: Earnings, limit: int, position: dict | None
                  ) -> tuple[Balance, list[Posting], dict | None]:
    postings, after = kit.ledger.postings_of(payee, limit, position)
    return balance_of(payee, kit), postings, after


MAX_STATEMENT_DAYS = 366


def statement_for(seller_id: str, first: date, last: date, kit: Earnings) -> Statement:
    """The seller's statement from the start of `first` to the end of `last` (UTC days)."""
    if last < first or (last - first).days >= MAX_STATEMENT_DAYS:
        raise BazaarError(f"The period must run forwards and span at most {MAX_STATEMENT_DAYS} days.",
                          code="VALIDATION_FAILED", details=[{"field": "to", "issue": "period out of range"}])
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    payee = f"{PayeeRole.SELLER.value}:{seller_id}"
    return statement_of(seller_id, kit.ledger.all_postings_of(payee, start, end), start, end)


def statement_csv(statement_: Statement) -> str:
    """One line per posting (gross, commission, fees, TCS, TDS, net in rupees), then the totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["posted_at", "posting_id", "order_id", "kind", "gross", "commission", "gateway_fee", "tcs",
                     "tds", "net"])
    single = [(p, statement_of(statement_.seller_id, (p,), statement_.start, statement_.end)) for p in statement_.lines]
    for posting, one in single:
        writer.writerow([posting.posted_at.isoformat(), posting.posting_id, posting.order_id, posting.kind.value,
                         *(x.to_rupees_string() for x in (one.gross, one.commission, one.gateway_fees, one.tcs,
                                                           one.tds, one.net))])
    writer.writerow(["total", "", "", "", *(x.to_rupees_string() for x in (
        statement_.gross, statement_.commission, statement_.gateway_fees, statement_.tcs, statement_.tds,
        statement_.net))])
    return out.getvalue()


# -- payout accounts -----------------------------------------------------------------------


def payee_of_caller(user_id: str, roles: frozenset[str]) -> str:
    """The payee a seller or scout route pays: the caller, in the role the route admitted."""
    role = PayeeRole.SELLER if PayeeRole.SELLER.value in roles else PayeeRole.SCOUT
    return f"{role.value}:{user_id}"


def payout_account(payee: str, kit: Earnings) -> PayoutAccount:
    account = kit.payouts.account(payee)
    if account is None:
        raise PayoutAccountMissing()
    return account


def register_payout_account(payee: str, holder_name: str, destination: Destination, kit: Earnings) -> PayoutAccount:
    """Creates (or finds: RazorpayX dedupes identical ones) the payee's contact and fund
    account, and keeps the fund account with a masked number."""
    _, user_id = payee_of(payee)
    try:
        fund = kit.provider().register(Beneficiary(reference_id=user_id, name=holder_name,
                                                   email=kit.people.email_of(user_id), contact_type="vendor",
                                                   destination=destination))
    except ProviderRejected as refused:
        raise PayoutAccountRejected(f"RazorpayX refused the account: {refused.description}", refused.field) from None
    except ProviderUnavailable:
        raise PayoutProviderUnavailable() from None
    kind = "vpa" if hasattr(destination, "address") else "bank_account"
    account = PayoutAccount(payee=payee, kind=kind, masked=masked(destination),
                            holder_name=holder_name, contact_id=fund.contact_id,
                            fund_account_id=fund.fund_account_id, registered_at=kit.clock(),
                            ifsc=getattr(destination, "ifsc", None))
    kit.payouts.save_account(account)
    return account


# -- making payouts ------------------------------------------------------------------------


def _event(payout: Payout, kind: PayoutEventType, reason: str = "") -> PayoutEvent:
    return PayoutEvent(payout_event_id(payout.payout_id, payout.version), kind, payout.payee_id, payout.role.value,
                       payout.amount.amount, payout.updated_at, payout.payout_id, payout.version, reason=reason,
                       facts={"status": payout.status.value, "utr": payout.utr, "attempt": payout.attempt})


_NEWS: dict[PayoutStatus, PayoutEventType] = {
    PayoutStatus.COMPLETED: PayoutEventType.PAYOUT_PROCESSED,
    PayoutStatus.FAILED: PayoutEventType.PAYOUT_FAILED,
    PayoutStatus.REVERSED: PayoutEventType.PAYOUT_REVERSED,
    PayoutStatus.PENDING: PayoutEventType.PAYOUT_REQUESTED,
}


def _event_for(change: PayoutChange) -> PayoutEvent | None:
    if not change.status_changed or change.after.status not in _NEWS:
        return None
    return _event(change.after, _NEWS[change.after.status], change.after.failure_reason or "")


def _chosen(claims: list[Claimable], up_to: Paise | None) -> list[Claimable]:
    """What a payout takes: everything, or for a withdrawal of at most `up_to`, every negative
    posting (a clawback is always netted first) and then the oldest postings that fit."""
    if up_to is None:
        return claims
    chosen = [c for c in claims if c.net.is_negative]
    total = sum((c.net for c in chosen), Paise.zero())
    for claim in claims:
        if not claim.net.is_negative and total + claim.net <= up_to:
            chosen.append(claim)
            total += claim.net
    return chosen


def request_payout(payee: str, trigger: PayoutTrigger, requested_by: str, kit: Earnings, *,
                   up_to: Paise | None = None, admin: Admin | None = None) -> Payout:
    """A payout of the payee's available balance (its oldest unclaimed postings, netted), or of at
    most `up_to` of it, if it reaches the minimum; its job is queued for the processor. Concurrent
    requests for one balance make one payout: every claim is conditional. An admin's request is
    audited with it."""
    role, user_id = payee_of(payee)
    minimum = kit.policy.minimum_for(role)
    for _ in range(2):
        if kit.payouts.hold(payee) is not None:
            raise PayoutsHeld()
        account = kit.payouts.account(payee)
        if account is None:
            raise PayoutAccountMissing()
        available = kit.ledger.unclaimed(payee, MAX_POSTINGS_PER_PAYOUT)
        available_amount = sum((c.net for c in available), Paise.zero())
        if up_to is not None and up_to > available_amount:
            raise WithdrawalExceedsBalance(up_to, available_amount)
        claims = _chosen(available, up_to)
        amount = sum((c.net for c in claims), Paise.zero())
        if amount < minimum:
            raise NothingToPay(amount, minimum)
        at = kit.clock()
        payout = Payout(payout_id=kit.new_id("pay"), payee=payee, amount=amount,
                        postings=tuple(PostingRef(c.order_id, c.posting_id) for c in claims),
                        status=PayoutStatus.PENDING,
                        fund_account_id=account.fund_account_id, mode=account.mode, trigger=trigger,
                        requested_by=requested_by, created_at=at, updated_at=at)
        audit = _audit(admin, AuditAction.PAYOUTS_REQUESTED, user_id, {},
                       {"payout_id": payout.payout_id, "payee": payee, "amount_paise": amount.amount},
                       kit) if admin else None
        try:
            kit.payouts.create(payout, claims, _event(payout, PayoutEventType.PAYOUT_REQUESTED), audit)
        except ClaimLost:
            continue  # another trigger took some of these postings: read what is left
        logger.info("payout requested", extra={"payout_id": payout.payout_id, "amount_paise": amount.amount,
                                               "postings": len(claims), "trigger": trigger.value})
        kit.jobs.enqueue(payout.payout_id)
        return payout
    raise NothingToPay(Paise.zero(), minimum)


def run_payouts(kit: Earnings, limit: int = 500) -> dict[str, int]:
    """The schedule's run: every seller with an available balance at or above the minimum is
    paid. Scouts are paid when they ask (a withdrawal)."""
    outcome = {"requested": 0, "below_minimum": 0, "held": 0, "no_account": 0}
    for payee in kit.ledger.payees_with_unclaimed(limit):
        if payee_of(payee)[0] is not PayeeRole.SELLER:
            continue
        try:
            request_payout(payee, PayoutTrigger.SCHEDULE, "system:payout-run", kit)
            outcome["requested"] += 1
        except NothingToPay:
            outcome["below_minimum"] += 1
        except PayoutsHeld:
            outcome["held"] += 1
        except PayoutAccountMissing:
            outcome["no_account"] += 1
    return outcome


def _apply(payout: Payout, change: PayoutChange | None, kit: Earnings, audit: AuditEntry | None = None) -> Payout:
    if change is None:
        return payout
    applied = kit.payouts.apply(change, _event_for(change), audit)
    if change.status_changed and applied.status in (PayoutStatus.FAILED, PayoutStatus.REVERSED):
        metrics.add_metric(name="PayoutFailed", unit="Count", value=1)  # the payouts-failed alarm
    if change.status_changed and applied.status is PayoutStatus.COMPLETED:
        metrics.add_metric(name="PayoutProcessed", unit="Count", value=1)
    return applied


def send_payout(payout_id: str, kit: Earnings) -> Payout | None:
    """The processor's job: asks RazorpayX to pay a pending payout, with the attempt's
    idempotency key (a retry after a timeout finds the payout it created). A definite refusal
    fails the payout and gives its postings back; an unknown outcome raises, and the queue
    retries with the same key."""
    payout = kit.payouts.get(payout_id)
    if payout is None:
        logger.error("a payout job for no payout; dropped", extra={"payout_id": payout_id})
        return None
    if payout.status is not PayoutStatus.PENDING or payout.provider_payout_id:
        return payout  # sent already: the webhook or the status poll follows it
    if kit.payouts.hold(payout.payee) is not None:
        logger.info("payee on hold: the payout waits for the release", extra={"payout_id": payout_id})
        return payout
    order = PayoutOrder(fund_account_id=payout.fund_account_id, amount_paise=payout.amount.amount, mode=payout.mode,
                        purpose="payout", reference_id=payout.payout_id, narration=payout.narration,
                        idempotency_key=payout.idempotency_key, queue_if_low_balance=True,
                        notes={"payee": payout.payee, "attempt": str(payout.attempt)})
    try:
        answer = _create_with_one_retry(order, kit)
    except ProviderRejected as refused:
        if refused.configuration_problem:
            # A wrong key or an address RazorpayX has not allowlisted: no payout can fix that, an
            # operator must. Left pending; the message is retried and then rests in the DLQ (alarmed).
            logger.error("RazorpayX refused our credentials or address", extra={"payout_id": payout_id,
                                                                                "status": refused.status})
            raise
        logger.warning("RazorpayX refused the payout", extra={"payout_id": payout_id, "code": refused.code})
        reason = f"RazorpayX refused it: {refused.description or refused.code}"
        response = {"error": {"code": refused.code, "description": refused.description, "field": refused.field}}
        return _settle_report(payout_id, kit, lambda p: p.change(
            PayoutStatus.FAILED, kit.clock(), failure_reason=reason, provider_response=response))
    crash_point("payout.created_at_razorpayx")
    return follow_provider(payout_id, answer, kit)


def _create_with_one_retry(order: PayoutOrder, kit: Earnings) -> ProviderPayout:
    """One quick retry, with the same key and body, before the queue's slower redelivery: a
    timeout may have created the payout, and RazorpayX then answers with the one it made."""
    try:
        return kit.provider().create_payout(order)
    except ProviderUnavailable:
        logger.warning("RazorpayX did not answer; asking again with the same key",
                       extra={"payout_id": order.reference_id})
        kit.pause(RETRY_PAUSE_SECONDS)
        return kit.provider().create_payout(order)


def follow_provider(payout_id: str, answer: ProviderPayout, kit: Earnings) -> Payout | None:
    """RazorpayX's word on a payout (a create answer, a webhook, a poll), applied forward only."""
    return _settle_report(payout_id, kit, lambda p: provider_report(
        p, answer.status, kit.clock(), provider_payout_id=answer.payout_id, utr=answer.utr,
        failure_reason=answer.failure_reason, response=answer.raw))


def _settle_report(payout_id: str, kit: Earnings, change_of: Callable[[Payout], PayoutChange | None],
                   tries: int = 4) -> Payout | None:
    for _ in range(tries):
        payout = kit.payouts.get(payout_id)
        if payout is None:
            logger.warning("RazorpayX spoke of a payout we do not have", extra={"payout_id": payout_id})
            return None
        try:
            change = change_of(payout)
        except PayoutTransitionRefused:
            return payout
        try:
            return _apply(payout, change, kit)
        except StalePayout:
            continue  # a webhook and the processor crossed: read it again
    raise Conflict(f"Payout {payout_id} kept changing; the message will be retried.")


def poll_open_payouts(kit: Earnings, limit: int = 100) -> dict[str, int]:
    """The status poll: open payouts not heard of for a while are fetched from RazorpayX (a lost
    webhook must not leave one open for ever), and payouts never sent get their job again."""
    now = kit.clock()
    outcome = {"checked": 0, "requeued": 0, "unavailable": 0}
    for payout in kit.payouts.open_due(now - kit.policy.status_poll_after, limit):
        if not payout.provider_payout_id:
            if payout.status is PayoutStatus.PENDING and payout.updated_at <= now - UNSENT_GRACE:
                kit.jobs.enqueue(payout.payout_id)
                outcome["requeued"] += 1
            continue
        try:
            answer = kit.provider().fetch_payout(payout.provider_payout_id)
        except (ProviderUnavailable, ProviderRejected):
            outcome["unavailable"] += 1
            continue
        follow_provider(payout.payout_id, answer, kit)
        outcome["checked"] += 1
    return outcome


# -- admin ---------------------------------------------------------------------------------


def _audit(admin: Admin, action: AuditAction, target: str, before: dict, after: dict, kit: Earnings) -> AuditEntry:
    return AuditEntry(audit_id=kit.new_id("aud"), at=kit.clock(), actor_id=admin.actor_id, action=action,
                      target_id=target, before=before, after=after, request_id=admin.request_id, reason=admin.reason)


def find_payout(payout_id: str, kit: Earnings) -> Payout:
    payout = kit.payouts.get(payout_id)
    if payout is None:
        raise PayoutNotFound()
    return payout


def retry_payout(payout_id: str, admin: Admin, kit: Earnings) -> Payout:
    """A failed payout tried again as a new attempt (a new idempotency key: the last one failed
    for good), claiming its postings again."""
    payout = find_payout(payout_id, kit)
    if payout.status is not PayoutStatus.FAILED:
        raise PayoutTransitionRefused(payout.status, PayoutStatus.PENDING)
    if kit.payouts.hold(payout.payee) is not None:
        raise PayoutsHeld()
    earlier = payout.earlier_provider_payout_ids + ((payout.provider_payout_id,) if payout.provider_payout_id else ())
    change = payout.change(PayoutStatus.PENDING, kit.clock(), attempt=payout.attempt + 1, provider_payout_id=None,
                           provider_status=None, utr=None, failure_reason=None, failed_at=None,
                           earlier_provider_payout_ids=earlier)
    try:
        retried = kit.payouts.apply(change, _event_for(change), _audit(
            admin, AuditAction.PAYOUT_RETRIED, payout_id, {"status": payout.status.value, "attempt": payout.attempt},
            {"status": "pending", "attempt": payout.attempt + 1}, kit))
    except ClaimLost:
        raise Conflict("Some of this payout's postings were paid by a newer payout; request a new one instead.") \
            from None
    except StalePayout:
        raise Conflict("The payout changed meanwhile; read it again.") from None
    kit.jobs.enqueue(payout_id)
    return retried


def cancel_payout(payout_id: str, admin: Admin, kit: Earnings) -> Payout:
    """Cancels a payout RazorpayX has queued (low balance), and gives its postings back. A payout
    RazorpayX may be sending cannot be cancelled: only a queued one can be stopped for sure."""
    payout = find_payout(payout_id, kit)
    if payout.status is not PayoutStatus.PENDING or payout.provider_status != "queued" or not payout.provider_payout_id:
        raise Conflict("Only a payout RazorpayX has queued can be cancelled.", code="INVALID_STATE_TRANSITION")
    try:
        answer = kit.provider().cancel_payout(payout.provider_payout_id)
    except ProviderRejected as refused:
        raise Conflict(f"RazorpayX would not cancel it: {refused.description}",
                       code="INVALID_STATE_TRANSITION") from None
    except ProviderUnavailable:
        raise PayoutProviderUnavailable() from None
    change = provider_report(payout, answer.status, kit.clock(), provider_payout_id=answer.payout_id, utr=answer.utr,
                             failure_reason=f"cancelled by an admin: {admin.reason}", response=answer.raw)
    audit = _audit(admin, AuditAction.PAYOUT_CANCELLED, payout_id, {"status": payout.status.value},
                   {"status": change.after.status.value if change else payout.status.value}, kit)
    try:
        return _apply(payout, change, kit, audit)
    except StalePayout:
        raise Conflict("The payout changed meanwhile; read it again.") from None


def hold_payee(payee: str, admin: Admin, kit: Earnings) -> Hold:
    hold = Hold(payee=payee, reason=admin.reason, by=admin.actor_id, at=kit.clock())
    kit.payouts.set_hold(hold, payee, _audit(admin, AuditAction.PAYEE_HELD, payee_of(payee)[1], {"held": False},
                                             {"held": True, "payee": payee}, kit))
    return hold


def release_payee(payee: str, admin: Admin, kit: Earnings) -> int:
    """Lifts the hold and queues the payee's payouts that waited; returns how many."""
    if kit.payouts.hold(payee) is None:
        raise Conflict("Payouts to this payee are not on hold.")
    kit.payouts.set_hold(None, payee, _audit(admin, AuditAction.PAYEE_RELEASED, payee_of(payee)[1], {"held": True},
                                             {"held": False, "payee": payee}, kit))
    waiting = [p for p in kit.payouts.all_of_payee(payee)
               if p.status is PayoutStatus.PENDING and not p.provider_payout_id]
    for payout in waiting:
        kit.jobs.enqueue(payout.payout_id)
    return len(waiting)


def set_commission_rule(rule: CommissionRule, admin: Admin, kit: Earnings) -> CommissionRule:
    before = next((r for r in kit.payouts.commission_rules() if r.scope == rule.scope), None)
    kit.payouts.save_commission_rule(rule, _audit(
        admin, AuditAction.COMMISSION_RULE_SET, rule.scope, {"bps": before.bps if before else None},
        {"bps": rule.bps, "minimum_paise": rule.minimum.amount if rule.minimum else None,
         "maximum_paise": rule.maximum.amount if rule.maximum else None}, kit))
    return rule

