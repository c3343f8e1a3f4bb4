"""Checkout and the expiry of its locks, as use cases over the in-memory fakes (tests/unit/fakes.py),
which refuse what DynamoDB's conditions refuse: all lines locked or none, the customer's cap,
a transition only on the order as it was read."""

from __future__ import annotations

import pytest

from bazaar.catalog.domain import LockLimitReached, OutOfStock
from bazaar.checkout.domain import UnknownItem
from bazaar.checkout.services import release_expired_locks
from bazaar.orders.domain import OrderStatus, StaleOrder
from bazaar.orders.settlement import confirm_payment
from bazaar.payments.domain import CheckState, PaymentProviderRejected, PaymentProviderUnavailable
from bazaar.platform.errors import BazaarError
from tests.unit.fakes import Shop

S = OrderStatus


def test_checkout_merges_a_variants_lines_locks_them_and_opens_one_payment():
    shop = Shop()
    result = shop.checkout(("var_RED", 1), ("var_BLUE", 1), ("var_RED", 2))

    order = shop.orders.get(result.order.order_id)
    assert order is not None and order.status is S.PAYMENT_PENDING
    assert [(l.variant_id, l.quantity) for l in order.lines] == [("var_RED", 3), ("var_BLUE", 1)]
    assert order.total.amount == 3 * 24_900 + 29_900
    assert shop.counters("var_RED") == (2, 3, 0) and shop.counters("var_BLUE") == (1, 1, 0)
    assert shop.stock.holds["usr_ASHA"] == 4
    assert shop.orders.events() == ["OrderPlaced"]
    assert result.payment.redirect_url and result.payment.merchant_order_id == order.order_id
    assert shop.phonepe.calls == [("create_payment", order.order_id)]
    record = shop.records.get(order.order_id)
    assert record is not None and record.open and record.amount_paise == order.total.amount
    assert shop.started == [order.order_id]


def test_an_unknown_variant_is_refused_by_its_position_and_nothing_is_locked():
    shop = Shop()
    with pytest.raises(UnknownItem) as refused:
        shop.checkout(("var_RED", 1), ("var_GREEN", 1))
    assert refused.value.details == [{"field": "items[1].variant_id", "issue": "no such product variant"}]
    assert shop.counters("var_RED") == (5, 0, 0)
    assert shop.orders.orders == {} and shop.orders.outbox == [] and shop.phonepe.calls == []


def test_out_of_stock_names_only_the_short_variants_and_locks_nothing():
    shop = Shop()
    with pytest.raises(OutOfStock) as refused:
        shop.checkout(("var_RED", 2), ("var_BLUE", 3))  # blue has 2
    assert refused.value.variant_ids == ["var_BLUE"]
    assert shop.counters("var_RED") == (5, 0, 0) and shop.counters("var_BLUE") == (2, 0, 0)
    assert shop.orders.orders == {} and shop.orders.outbox == []
    assert shop.stock.holds.get("usr_ASHA") is None
    assert shop.records.records == {} and shop.phonepe.calls == []


def test_a_cart_over_the_cap_is_refused_before_anything_is_written():
    shop = Shop(hold_cap=3)
    with pytest.raises(LockLimitReached):
        shop.checkout(("var_RED", 4))
    assert shop.counters() == (5, 0, 0) and shop.orders.writes == 0 and shop.orders.refused == 0


def test_units_held_in_unpaid_orders_count_against_the_cap_until_they_are_paid():
    shop = Shop(hold_cap=3)
    first = shop.checkout(("var_RED", 2)).order
    with pytest.raises(LockLimitReached):
        shop.checkout(("var_BLUE", 2))
    assert shop.counters("var_BLUE") == (2, 0, 0) and shop.orders.events() == ["OrderPlaced"]
    assert shop.checkout(("var_RED", 1), customer="usr_RAVI").order  # another customer's cap is theirs

    confirm_payment(first.order_id, first.total, shop.orders, shop.clock)  # paid: no longer held
    assert shop.stock.holds["usr_ASHA"] == 0
    assert shop.checkout(("var_BLUE", 2)).order.status is S.PAYMENT_PENDING


@pytest.mark.parametrize(("failure", "record_state"), [
    (PaymentProviderRejected("no", provider_code="BAD_REQUEST"), CheckState.FAILED),
    (PaymentProviderUnavailable("timed out"), CheckState.OPEN),  # unknown outcome: reconciliation follows it
])
def test_a_payment_that_cannot_start_releases_the_order_at_once(failure, record_state):
    shop = Shop()
    shop.phonepe.fail_next("create_payment", failure)
    with pytest.raises(type(failure)):
        shop.checkout(("var_RED", 2))

    [order] = shop.orders.orders.values()
    assert order.status is S.PAYMENT_FAILED
    assert [h.to_status for h in order.history] == [S.PAYMENT_PENDING, S.PAYMENT_FAILED]
    assert shop.counters() == (5, 0, 0) and shop.stock.holds["usr_ASHA"] == 0
    assert shop.orders.events() == ["OrderPlaced", "PaymentFailed"]
    record = shop.records.get(order.order_id)
    assert record is not None and record.state is record_state
    assert shop.started == []


# -- expiry ------------------------------------------------------------------------------------------


def test_cleanup_gives_back_only_expired_locks_and_a_second_run_changes_nothing():
    shop = Shop()
    old = shop.checkout(("var_RED", 2)).order
    shop.clock.advance(minutes=10)
    fresh = shop.checkout(("var_BLUE", 1), customer="usr_RAVI").order
    shop.clock.advance(minutes=6)  # the first lock (15 min) is past, the second is not

    report = release_expired_locks(shop.orders, shop.clock)
    assert (report.orders_expired, report.units_released, report.lost_races, report.errors) == (1, 2, 0, 0)
    assert report.oldest_unreleased_at is None
    assert shop.orders.get(old.order_id).status is S.EXPIRED
    assert shop.orders.get(fresh.order_id).status is S.PAYMENT_PENDING
    assert shop.counters() == (5, 0, 0) and shop.stock.holds["usr_ASHA"] == 0
    census = shop.orders.lock_census(shop.clock())
    assert (census.active, census.expired_unreleased) == (1, 0)

    again = release_expired_locks(shop.orders, shop.clock)
    assert (again.orders_expired, again.lost_races) == (0, 0)
    assert shop.orders.events(old.order_id) == ["OrderPlaced", "OrderExpired"]


def test_a_payment_landing_between_cleanups_read_and_write_wins_and_cleanup_counts_a_lost_race():
    shop = Shop()
    order = shop.checkout(("var_RED", 2)).order
    shop.clock.advance(minutes=16)

    def payment_lands_first(transition):
        if transition.to_status is S.EXPIRED:
            shop.orders.before_apply.clear()
            confirm_payment(order.order_id, order.total, shop.orders, shop.clock)

    shop.orders.before_apply.append(payment_lands_first)
    report = release_expired_locks(shop.orders, shop.clock)

    assert (report.orders_expired, report.lost_races) == (0, 1)
    assert shop.orders.get(order.order_id).status is S.PAID
    assert shop.counters() == (3, 0, 2)  # sold from its locks, never released
    assert shop.orders.events(order.order_id) == ["OrderPlaced", "OrderPaid"]


def test_a_release_is_conditional_on_the_lock_having_expired_by_then():
    shop = Shop()
    order = shop.checkout(("var_RED", 2)).order
    early = order.transition(S.EXPIRED, shop.clock(), "stock lock expired",
                             only_if_lock_expired_by=shop.clock())
    with pytest.raises(StaleOrder):
        shop.orders.apply(early)
    assert shop.orders.get(order.order_id).status is S.PAYMENT_PENDING and shop.counters() == (3, 2, 0)
    assert shop.orders.events() == ["OrderPlaced"]


def test_a_transition_from_an_order_read_before_another_change_is_stale_and_writes_nothing():
    shop = Shop()
    order = shop.checkout(("var_RED", 2)).order
    shop.orders.apply(order.transition(S.CANCELLED, shop.clock(), "cancelled by the customer"))
    with pytest.raises(StaleOrder):
        shop.orders.apply(order.transition(S.PAID, shop.clock(), "payment confirmed"))
    assert shop.counters() == (5, 0, 0)
    assert shop.orders.events() == ["OrderPlaced", "OrderCancelled"]


# -- one transaction: order, payment record and Idempotency-Key ----------------------------------


def test_checkout_writes_its_order_payment_record_and_key_claim_in_one_transaction():
    shop = Shop()
    claim = shop.claim("key-1", ("var_RED", 2))
    order = shop.checkout(("var_RED", 2), key=claim).order

    assert (shop.orders.writes, shop.orders.refused) == (1, 0)
    record = shop.records.get(order.order_id)
    assert record is not None and record.open and record.amount_paise == order.total.amount
    held = shop.idempotency.of(claim)
    assert held is not None and held["status"] == "IN_PROGRESS" and held["token"] == claim.token


def test_out_of_stock_leaves_no_order_payment_record_or_key_and_the_key_stays_free():
    shop = Shop()
    with pytest.raises(OutOfStock):
        shop.post_checkout("key-1", ("var_RED", 2), ("var_BLUE", 3))  # blue has 2

    assert shop.orders.orders == {} and shop.orders.outbox == [] and shop.records.records == {}
    assert shop.idempotency.items == {} and shop.phonepe.calls == []
    assert shop.counters("var_RED") == (5, 0, 0) and shop.stock.holds.get("usr_ASHA") is None
    assert (shop.orders.writes, shop.orders.refused) == (0, 1)

    # Nothing claimed the key: the same key with a cart that fits makes the order.
    body = shop.post_checkout("key-1", ("var_RED", 2), ("var_BLUE", 2))
    assert body["order"]["status"] == "PAYMENT_PENDING" and len(shop.orders.orders) == 1


def test_a_repeated_key_is_answered_from_its_record_and_writes_nothing():
    shop = Shop()
    first = shop.post_checkout("key-1", ("var_RED", 2))
    writes, counters, records = shop.orders.writes, shop.counters(), dict(shop.records.records)

    assert shop.post_checkout("key-1", ("var_RED", 2)) == first
    assert shop.orders.writes == writes and shop.counters() == counters and shop.records.records == records
    assert len(shop.orders.orders) == 1 and shop.orders.events() == ["OrderPlaced"]
    assert shop.phonepe.calls == [("create_payment", first["order"]["order_id"])]

    with pytest.raises(BazaarError) as reused:
        shop.post_checkout("key-1", ("var_RED", 1))  # another body
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED" and len(shop.orders.orders) == 1
    assert shop.post_checkout("key-1", ("var_RED", 2), customer="usr_RAVI") != first  # keys are per caller


def test_a_key_whose_request_is_still_running_is_refused_until_its_hold_runs_out():
    shop = Shop()
    running = shop.claim("key-1", ("var_RED", 2))
    shop.checkout(("var_RED", 2), key=running)  # not completed yet: the first request is still running

    with pytest.raises(BazaarError) as in_use:
        shop.post_checkout("key-1", ("var_RED", 2))
    assert in_use.value.code == "IDEMPOTENCY_KEY_IN_USE" and len(shop.orders.orders) == 1

    shop.clock.advance(seconds=31)  # past the hold (no Lambda context: 30 s): the request died
    body = shop.post_checkout("key-1", ("var_RED", 2))
    taken_over = shop.idempotency.of(running)
    assert len(shop.orders.orders) == 2 and taken_over is not None
    assert taken_over["status"] == "COMPLETED" and taken_over["token"] != running.token
    assert shop.post_checkout("key-1", ("var_RED", 2)) == body


def test_a_payment_that_cannot_start_frees_the_key_so_a_retry_makes_a_new_order():
    shop = Shop()
    shop.phonepe.fail_next("create_payment", PaymentProviderUnavailable("timed out"))
    with pytest.raises(PaymentProviderUnavailable):
        shop.post_checkout("key-1", ("var_RED", 2))
    [failed] = shop.orders.orders.values()
    assert failed.status is S.PAYMENT_FAILED and shop.idempotency.items == {}

    body = shop.post_checkout("key-1", ("var_RED", 2))
    assert body["order"]["order_id"] != failed.order_id and body["order"]["status"] == "PAYMENT_PENDING"
