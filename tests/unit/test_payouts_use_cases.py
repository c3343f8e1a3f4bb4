"""The payouts use cases on in-memory ports (tests/unit/payout_fakes.py): settlement races,
bounties once per recruit, reversals once per refund, payouts that claim each posting once, and
RazorpayX answers that never pay twice or move a payout backwards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.money import Paise
from bazaar.orders.domain import Order, OrderLine, OrderStatus, RefundRecord, RefundState, ShippingAddress
from bazaar.payouts import services
from bazaar.payouts.domain import (
    NothingToPay, PayoutAccount, PayoutAccountMissing, PayoutsHeld, PayoutStatus, PayoutTrigger,
)
from bazaar.payouts.ledger import PostingKind
from bazaar.payouts.provider import ProviderRejected, ProviderUnavailable
from bazaar.payouts.services import Admin, Earnings, PayoutPolicy
from tests.unit.fakes import Clock, sequential_ids
from tests.unit.payout_fakes import FakeJobs, FakeLedger, FakeOrders, FakePayouts, FakePeople, FakeRazorpayX

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SELLER = "seller:usr_S"
ADMIN = Admin("usr_admin", "req-1", "checked by hand")


@pytest.fixture
def kit():
    orders = FakeOrders()
    ledger = FakeLedger(orders)
    return Earnings(
        ledger=ledger, payouts=FakePayouts(ledger), orders=orders, people=FakePeople({"usr_C": "usr_scout"}),
        jobs=FakeJobs(), provider=lambda: RAZORPAYX, clock=Clock(AT), new_id=sequential_ids(), pause=lambda _: None,
        policy=PayoutPolicy(return_window=timedelta(days=7), default_commission_bps=1000, gateway_fee_bps=200,
                            tcs_bps=50, tds_bps=10, scout_bounty=Paise(1000), seller_minimum=Paise(10_000),
                            scout_minimum=Paise(1000), status_poll_after=timedelta(minutes=2)),
    )


RAZORPAYX = FakeRazorpayX()


@pytest.fixture(autouse=True)
def _fresh_provider():
    RAZORPAYX.__init__()  # type: ignore[misc]


def _order(order_id: str = "ord_1", total: int = 100_000, status: OrderStatus = OrderStatus.DELIVERED,
           version: int = 5, refunds: tuple[int, ...] = (), customer: str = "usr_C") -> Order:
    records = tuple(RefundRecord(n + 1, f"{order_id}-R0{n + 1}", Paise(a), RefundState.COMPLETED, "r", "usr_a", AT)
                    for n, a in enumerate(refunds))
    return Order(order_id, customer, status, (OrderLine("prd_1", "var_1", "SKU", "Kettle", Paise(total), 1, "usr_S",
                                                        "kitchen"),),
                 ShippingAddress("A", "9876543210", "1 Road", "Pune", "MH", "411001"), AT, AT, AT, version=version,
                 refunds=records)


def _delivered_and_settled(kit, order: Order) -> None:
    kit.orders.put(order)
    kit.ledger.note_delivery(order.order_id, AT - timedelta(days=1))
    assert services.settle_order(order.order_id, kit)


def _with_account(kit, payee: str = SELLER) -> None:
    kit.payouts.save_account(PayoutAccount(payee, "bank_account", "XXXXXX6789", "Asha", "cont_1", "fa_1", AT,
                                           "HDFC0001234"))


def _balanced(kit, payee: str = SELLER):
    balance = services.balance_of(payee, kit)
    assert balance.balanced, balance
    return balance


def test_the_window_decides_when_an_order_is_settled(kit):
    from bazaar.orders.events import OrderEvent, OrderEventType

    order = _order()
    kit.orders.put(order)
    event = OrderEvent("evt_1", OrderEventType.DELIVERED, order.order_id, "usr_C", "system", AT, 5, "SHIPPED",
                       "DELIVERED", "delivered", 100_000, ())

    assert services.follow_order_event(event, kit) == "settlement scheduled"
    assert services.follow_order_event(event, kit) == "settlement already scheduled"  # redelivered
    assert services.settle_due(kit) == {"settled": 0, "skipped": 0}
    kit.clock.advance(days=7)
    assert services.settle_due(kit) == {"settled": 1, "skipped": 0}
    assert services.settle_due(kit) == {"settled": 0, "skipped": 0}
    [sale] = [p for p in kit.ledger.postings.values() if p.kind is PostingKind.SALE]
    assert sale.total == Paise(100_000)


def test_a_refund_completing_while_the_order_is_settled_is_netted_in_the_retry(kit):
    order = _order()
    kit.orders.put(order)
    kit.ledger.note_delivery(order.order_id, AT)
    refunded = replace(order, status=OrderStatus.PARTIALLY_REFUNDED, version=6,
                       refunds=_order(refunds=(40_000,)).refunds)
    kit.ledger.before_settle.append(lambda _: kit.orders.put(refunded))

    assert services.settle_order(order.order_id, kit)

    postings = kit.ledger.postings_of_order(order.order_id)
    assert sorted(p.kind for p in postings if p.payee == SELLER) == [PostingKind.REFUND_REVERSAL, PostingKind.SALE]
    assert sum((p.total for p in postings), Paise.zero()) == Paise(60_000)


def test_a_recruits_first_settled_order_earns_the_bounty_once_and_a_full_refund_claws_it_back(kit):
    _delivered_and_settled(kit, _order("ord_1"))
    _delivered_and_settled(kit, _order("ord_2"))

    bounties = [p for p in kit.ledger.postings.values() if p.kind is PostingKind.BOUNTY]
    assert [b.order_id for b in bounties] == ["ord_1"] and bounties[0].payee == "scout:usr_scout"
    assert [e.event_type.value for e in kit.ledger.outbox] == ["BountyEarned"]
    kit.orders.put(_order("ord_1", status=OrderStatus.REFUNDED, version=7, refunds=(100_000,)))

    assert services.reverse_refunds("ord_1", kit) == 2  # the seller's reversal and the clawback
    assert services.reverse_refunds("ord_1", kit) == 0  # a redelivered Refunded changes nothing
    assert services.balance_of("scout:usr_scout", kit).available == Paise.zero()
    assert sum((p.total for p in kit.ledger.postings_of_order("ord_1")), Paise.zero()) == Paise.zero()


def test_a_payout_claims_the_balance_and_a_second_trigger_finds_nothing(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)

    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)

    assert payout.amount == _balanced(kit).in_flight and kit.jobs.queued == [payout.payout_id]
    with pytest.raises(NothingToPay):
        services.request_payout(SELLER, PayoutTrigger.ADMIN, "admin:usr_a", kit)
    assert len(kit.payouts.payouts) == 1


def test_no_payout_without_an_account_under_a_hold_or_below_the_minimum(kit):
    kit.orders.put(_order(total=5_000))
    kit.ledger.note_delivery("ord_1", AT)
    services.settle_order("ord_1", kit)
    with pytest.raises(PayoutAccountMissing):
        services.request_payout(SELLER, PayoutTrigger.ADMIN, "a", kit)
    _with_account(kit)
    with pytest.raises(NothingToPay):
        services.request_payout(SELLER, PayoutTrigger.ADMIN, "a", kit)  # 5 000 less deductions < 10 000
    services.hold_payee(SELLER, ADMIN, kit)
    with pytest.raises(PayoutsHeld):
        services.request_payout(SELLER, PayoutTrigger.ADMIN, "a", kit)
    assert kit.payouts.payouts == {}


def test_a_timeout_that_created_the_payout_is_answered_by_the_retry_with_the_same_key(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    RAZORPAYX.made_then_lost = 1

    sent = services.send_payout(payout.payout_id, kit)

    assert RAZORPAYX.payouts_made == 1 and RAZORPAYX.calls == 2
    assert sent is not None and sent.status is PayoutStatus.PROCESSING and sent.provider_payout_id == "pout_1"
    assert services.send_payout(payout.payout_id, kit) == sent  # a redelivered job sends nothing


def test_an_outage_leaves_the_payout_pending_for_the_queue_to_retry_with_the_same_key(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    RAZORPAYX.fail_next = [ProviderUnavailable("502"), ProviderUnavailable("502")]

    with pytest.raises(ProviderUnavailable):
        services.send_payout(payout.payout_id, kit)

    assert kit.payouts.get(payout.payout_id).status is PayoutStatus.PENDING
    services.send_payout(payout.payout_id, kit)
    assert RAZORPAYX.payouts_made == 1 and list(RAZORPAYX.by_key) == [f"{payout.payout_id}-1"]


def test_a_definite_refusal_fails_the_payout_and_gives_the_postings_back(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    RAZORPAYX.fail_next = [ProviderRejected("no", status=400, code="BAD_REQUEST_ERROR", description="Invalid IFSC")]

    failed = services.send_payout(payout.payout_id, kit)

    assert failed is not None and failed.status is PayoutStatus.FAILED and "Invalid IFSC" in failed.failure_reason
    balance = _balanced(kit)
    assert balance.available == payout.amount and balance.in_flight == Paise.zero()
    retried = services.retry_payout(payout.payout_id, ADMIN, kit)
    assert retried.attempt == 2 and retried.idempotency_key.endswith("-2")
    assert _balanced(kit).in_flight == payout.amount


def test_a_wrong_key_or_an_unlisted_address_leaves_the_payout_pending(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    RAZORPAYX.fail_next = [ProviderRejected("not allowlisted", status=403, code="FORBIDDEN")]

    with pytest.raises(ProviderRejected):
        services.send_payout(payout.payout_id, kit)

    assert kit.payouts.get(payout.payout_id).status is PayoutStatus.PENDING


def test_provider_reports_move_forward_only_and_a_reversal_gives_the_money_back(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    sent = services.send_payout(payout.payout_id, kit)
    made = RAZORPAYX.fetch_payout(sent.provider_payout_id)

    done = services.follow_provider(payout.payout_id, made.model_copy(update={"status": "processed", "utr": "U1"}), kit)
    late = services.follow_provider(payout.payout_id, made.model_copy(update={"status": "processing"}), kit)

    assert done.status is PayoutStatus.COMPLETED and late == done
    assert _balanced(kit).paid_out == payout.amount
    reversed_ = services.follow_provider(payout.payout_id, made.model_copy(update={"status": "reversed"}), kit)
    assert reversed_.status is PayoutStatus.REVERSED
    assert _balanced(kit).available == payout.amount
    kinds = [e.event_type.value for e in kit.ledger.outbox if e.subject_id == payout.payout_id]
    assert kinds == ["PayoutRequested", "PayoutProcessed", "PayoutReversed"]


def test_only_a_payout_razorpayx_queued_can_be_cancelled(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    RAZORPAYX.status_of_new = "queued"
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    queued = services.send_payout(payout.payout_id, kit)
    assert queued.status is PayoutStatus.PENDING and queued.provider_status == "queued"

    cancelled = services.cancel_payout(payout.payout_id, ADMIN, kit)

    assert cancelled.status is PayoutStatus.FAILED and _balanced(kit).available == payout.amount
    assert [a.action.value for a in kit.payouts.audit] == ["payout.cancelled"]


def test_the_status_poll_requeues_a_payout_never_sent(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    kit.jobs.queued.clear()  # the enqueue after the commit was lost

    assert services.poll_open_payouts(kit)["requeued"] == 0  # too soon to tell it from one in flight
    kit.clock.advance(minutes=10)
    assert services.poll_open_payouts(kit)["requeued"] == 1 and kit.jobs.queued == [payout.payout_id]


def test_a_release_sends_the_payouts_that_waited(kit):
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    payout = services.request_payout(SELLER, PayoutTrigger.SCHEDULE, "system", kit)
    services.hold_payee(SELLER, ADMIN, kit)

    assert services.send_payout(payout.payout_id, kit).status is PayoutStatus.PENDING
    assert RAZORPAYX.calls == 0
    assert services.release_payee(SELLER, ADMIN, kit) == 1
    assert kit.jobs.queued[-1] == payout.payout_id


def test_a_withdrawal_of_part_nets_clawbacks_first_and_takes_whole_postings_oldest_first(kit):
    from bazaar.payouts.domain import WithdrawalExceedsBalance
    from bazaar.payouts.ledger import Claimable

    claims = [Claimable("b1", "o1", Paise(1000), AT), Claimable("b2", "o2", Paise(1000), AT + timedelta(seconds=1)),
              Claimable("c1", "o1", Paise(-1000), AT + timedelta(seconds=2)),
              Claimable("b3", "o3", Paise(1000), AT + timedelta(seconds=3))]

    assert [c.posting_id for c in services._chosen(claims, Paise(1500))] == ["c1", "b1", "b2"]
    assert [c.posting_id for c in services._chosen(claims, None)] == ["b1", "b2", "c1", "b3"]
    _delivered_and_settled(kit, _order())
    _with_account(kit)
    with pytest.raises(WithdrawalExceedsBalance):
        services.request_payout(SELLER, PayoutTrigger.WITHDRAWAL, "s", kit, up_to=Paise(10**9))
