"""A payment's verdict applied to its order (bazaar.orders.settlement) over the in-memory fakes:
exactly once, whether it comes by webhook, by reconciliation or many times over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bazaar.money import Paise
from bazaar.orders.aftersale import Amendment
from bazaar.orders.domain import OrderStatus, PaymentAlreadySettled, PaymentAmountMismatch, StaleOrder
from bazaar.orders.settlement import (
    NotYetConfirmed, apply_payment_event, confirm_payment, reconcile_payments, settle_with_status,
)
from bazaar.checkout.services import release_expired_locks
from bazaar.payments.domain import (
    CheckState, PaymentEvent, PaymentEventKind, PaymentProviderUnavailable, PaymentState, PaymentStatus, Settlement,
)
from tests.unit.fakes import Shop

S = OrderStatus


def _placed(shop: Shop, quantity: int = 2):
    order = shop.checkout(("var_RED", quantity)).order
    record = shop.records.get(order.order_id)
    assert record is not None
    return order, record


def _status(order, state=PaymentState.COMPLETED, amount=None, **changes) -> PaymentStatus:
    return PaymentStatus(merchant_order_id=changes.pop("merchant_order_id", order.order_id), state=state,
                         amount_paise=order.total.amount if amount is None else amount, **changes)


def _event(order, kind=PaymentEventKind.ORDER_COMPLETED, amount=None) -> PaymentEvent:
    state = {PaymentEventKind.ORDER_COMPLETED: "COMPLETED", PaymentEventKind.ORDER_FAILED: "FAILED"}.get(kind, "FAILED")
    return PaymentEvent(api_version="v2", kind=kind, provider_event=kind.value, merchant_order_id=order.order_id,
                        state=state, amount_paise=order.total.amount if amount is None else amount,
                        received_at=order.created_at, payload_sha256="0" * 64)


# -- confirm_payment ---------------------------------------------------------------------------------


def test_a_payment_within_the_lock_sells_the_locked_units_and_emits_order_paid_once():
    shop = Shop()
    order, _ = _placed(shop)
    paid = confirm_payment(order.order_id, order.total, shop.orders, shop.clock)
    assert paid.status is S.PAID and shop.counters() == (3, 0, 2)
    assert shop.orders.events() == ["OrderPlaced", "OrderPaid"]
    [event] = [e for e in shop.orders.outbox if e.event_type.value == "OrderPaid"]
    assert (event.actor, event.order_version, event.facts) == ("provider:phonepe", 2, {"amount_paise": 49_800})

    again = confirm_payment(order.order_id, order.total, shop.orders, shop.clock)
    assert again.status is S.PAID and again.version == paid.version
    assert shop.orders.events() == ["OrderPlaced", "OrderPaid"] and shop.counters() == (3, 0, 2)


def test_a_payment_after_expiry_sells_from_available_stock_while_there_is_some():
    shop = Shop()
    order, _ = _placed(shop)
    shop.clock.advance(minutes=16)
    release_expired_locks(shop.orders, shop.clock)
    assert shop.counters() == (5, 0, 0)

    paid = confirm_payment(order.order_id, order.total, shop.orders, shop.clock)
    assert paid.status is S.PAID and shop.counters() == (3, 0, 2)
    assert shop.orders.events() == ["OrderPlaced", "OrderExpired", "OrderPaid"]


def test_a_payment_after_expiry_whose_stock_went_to_others_needs_a_refund():
    shop = Shop()
    order, _ = _placed(shop, quantity=2)
    shop.clock.advance(minutes=16)
    release_expired_locks(shop.orders, shop.clock)
    shop.paid_order(("var_RED", 4), customer="usr_RAVI")  # 1 of 5 left
    before = shop.counters()

    late = confirm_payment(order.order_id, order.total, shop.orders, shop.clock)
    assert late.status is S.NEEDS_REFUND and shop.counters() == before
    assert shop.orders.events(order.order_id) == ["OrderPlaced", "OrderExpired", "NeedsRefund"]
    assert late.history[-1].reason == "payment confirmed after its stock was sold to others"


def test_an_amount_other_than_the_total_changes_nothing():
    shop = Shop()
    order, _ = _placed(shop)
    with pytest.raises(PaymentAmountMismatch):
        confirm_payment(order.order_id, Paise(order.total.amount - 1), shop.orders, shop.clock)
    assert shop.orders.get(order.order_id).status is S.PAYMENT_PENDING and shop.orders.events() == ["OrderPlaced"]


# -- settle_with_status ------------------------------------------------------------------------------


def test_completed_pays_the_order_and_closes_the_record_once():
    shop = Shop()
    order, record = _placed(shop)
    assert settle_with_status(record, _status(order), shop.settler) is Settlement.PAID
    assert shop.records.get(order.order_id).state is CheckState.COMPLETED
    assert settle_with_status(record, _status(order), shop.settler) is Settlement.ALREADY_SETTLED
    assert shop.orders.events() == ["OrderPlaced", "OrderPaid"]


def test_failed_at_phonepe_fails_the_order_and_gives_the_stock_back():
    shop = Shop()
    order, record = _placed(shop)
    outcome = settle_with_status(record, _status(order, PaymentState.FAILED, provider_code="PAYMENT_DECLINED"),
                                 shop.settler)
    assert outcome is Settlement.FAILED
    assert shop.orders.get(order.order_id).status is S.PAYMENT_FAILED and shop.counters() == (5, 0, 0)
    settled = shop.records.get(order.order_id)
    assert settled.state is CheckState.FAILED and "PAYMENT_DECLINED" in (settled.note or "")
    assert shop.orders.events() == ["OrderPlaced", "PaymentFailed"]


def test_pending_before_the_timeout_schedules_the_next_mandated_check():
    shop = Shop()
    order, record = _placed(shop)
    shop.clock.advance(seconds=21)
    assert settle_with_status(record, _status(order, PaymentState.PENDING), shop.settler) is Settlement.STILL_PENDING
    rescheduled = shop.records.get(order.order_id)
    assert rescheduled.open and rescheduled.checks == 1
    assert rescheduled.next_check_at == record.started_at + timedelta(seconds=23)
    assert shop.orders.get(order.order_id).status is S.PAYMENT_PENDING


@pytest.mark.parametrize(("answer", "why"), [
    ("pending", "payment still pending at PhonePe after its timeout"),
    ("unknown", "PhonePe never opened the payment"),
])
def test_no_verdict_by_the_timeout_expires_the_payment_and_fails_the_order(answer, why):
    shop = Shop()
    order, record = _placed(shop)
    shop.clock.advance(minutes=20)
    status = _status(order, PaymentState.PENDING) if answer == "pending" else None
    assert settle_with_status(record, status, shop.settler) is Settlement.EXPIRED
    failed = shop.orders.get(order.order_id)
    assert failed.status is S.PAYMENT_FAILED and failed.history[-1].reason == why
    assert shop.records.get(order.order_id).state is CheckState.EXPIRED


def test_phonepe_answering_without_a_verdict_never_fails_a_payment_even_after_the_timeout():
    shop = Shop()
    order, record = _placed(shop)
    shop.clock.advance(minutes=30)
    unsure = _status(order, PaymentState.PENDING, confirmed=False)
    assert settle_with_status(record, unsure, shop.settler) is Settlement.STILL_PENDING
    assert shop.orders.get(order.order_id).status is S.PAYMENT_PENDING


def test_an_answer_about_another_order_fulfils_nothing_and_closes_the_record_as_mismatch():
    shop = Shop()
    order, record = _placed(shop)
    other = _status(order, merchant_order_id="ord_SOMEBODYELSE000000000000")
    assert settle_with_status(record, other, shop.settler) is Settlement.MISMATCH
    assert shop.orders.get(order.order_id).status is S.PAYMENT_PENDING
    assert shop.records.get(order.order_id).state is CheckState.MISMATCH


def test_another_amount_taken_sends_the_order_to_needs_refund_and_releases_its_stock():
    shop = Shop()
    order, record = _placed(shop)
    taken = _status(order, amount=order.total.amount + 100)
    assert settle_with_status(record, taken, shop.settler) is Settlement.MISMATCH
    assert shop.orders.get(order.order_id).status is S.NEEDS_REFUND and shop.counters() == (5, 0, 0)
    assert shop.orders.events() == ["OrderPlaced", "NeedsRefund"]


# -- the webhook path --------------------------------------------------------------------------------


def test_a_webhook_delivered_many_times_pays_the_order_once():
    shop = Shop()
    order, _ = _placed(shop)
    shop.phonepe.complete(order.order_id)
    outcomes = [apply_payment_event(_event(order), shop.phonepe, shop.settler).settlement for _ in range(3)]
    assert outcomes == [Settlement.PAID, Settlement.ALREADY_SETTLED, Settlement.ALREADY_SETTLED]
    assert shop.orders.events() == ["OrderPlaced", "OrderPaid"] and shop.counters() == (3, 0, 2)


def test_a_webhook_phonepe_has_no_verdict_on_yet_comes_back_later():
    shop = Shop()
    order, _ = _placed(shop)  # still PENDING at the fake PhonePe
    with pytest.raises(NotYetConfirmed):
        apply_payment_event(_event(order), shop.phonepe, shop.settler)
    assert shop.orders.events() == ["OrderPlaced"]


def test_a_webhook_claiming_another_amount_than_phonepe_reports_is_not_acted_on():
    shop = Shop()
    order, _ = _placed(shop)
    shop.phonepe.complete(order.order_id)
    outcome = apply_payment_event(_event(order, amount=1), shop.phonepe, shop.settler)
    assert outcome.settlement is Settlement.MISMATCH
    assert shop.orders.get(order.order_id).status is S.PAYMENT_PENDING
    assert shop.records.get(order.order_id).open  # reconciliation keeps following PhonePe's status


def test_a_webhook_for_an_order_we_do_not_have_changes_nothing():
    shop = Shop()
    order, _ = _placed(shop)
    shop.phonepe.complete(order.order_id)
    shop.records.records.clear()
    assert apply_payment_event(_event(order), shop.phonepe, shop.settler).settlement is Settlement.UNKNOWN_ORDER
    assert shop.orders.events() == ["OrderPlaced"]


# -- reconciliation ----------------------------------------------------------------------------------


def test_reconciliation_settles_what_phonepe_decided_and_one_outage_does_not_stop_the_rest():
    shop = Shop()
    paid, _ = _placed(shop, 1)
    declined, _ = _placed(shop, 1)
    waiting, _ = _placed(shop, 1)
    unreachable, _ = _placed(shop, 1)
    shop.phonepe.complete(paid.order_id)
    shop.phonepe.decline(declined.order_id)
    shop.phonepe.script_status(unreachable.order_id, PaymentProviderUnavailable("503"))
    not_due_yet = shop.records.due(shop.clock(), 10)
    assert not_due_yet == []

    shop.clock.advance(seconds=20)
    report = reconcile_payments(shop.phonepe, shop.settler)
    assert report.checked == 4 and report.errors == 1
    assert report.outcomes == {"paid": 1, "failed": 1, "still_pending": 1}
    assert [shop.orders.get(o.order_id).status for o in (paid, declined, waiting, unreachable)] == [
        S.PAID, S.PAYMENT_FAILED, S.PAYMENT_PENDING, S.PAYMENT_PENDING]
    assert {r.order_id for r in shop.records.due(shop.clock() + timedelta(seconds=3), 10)} == {
        waiting.order_id, unreachable.order_id}
    assert shop.records.census(shop.clock(), 10).open == 2

    again = reconcile_payments(shop.phonepe, shop.settler)
    assert again.checked == 0  # nothing due until the next mandated check


# -- the record closed in the PAID transition's own transaction ----------------------------------


def test_the_paid_transition_closes_the_record_in_its_own_transaction_once():
    shop = Shop()
    order, record = _placed(shop)
    writes = shop.orders.writes
    assert settle_with_status(record, _status(order), shop.settler) is Settlement.PAID
    closed = shop.records.get(order.order_id)
    assert closed.state is CheckState.COMPLETED and not closed.open and closed.checks == 1
    assert shop.orders.writes == writes + 1  # the move and the close: one transaction

    assert settle_with_status(record, _status(order), shop.settler) is Settlement.ALREADY_SETTLED
    assert shop.records.get(order.order_id) == closed and shop.orders.writes == writes + 1


def test_a_refused_paid_transition_leaves_the_record_open():
    shop = Shop()
    order, _ = _placed(shop)
    shop.orders.apply(order.transition(S.CANCELLED, shop.clock(), "cancelled by the customer"))
    paid = order.transition(S.PAID, shop.clock(), "payment confirmed")  # from the order as read before
    with pytest.raises(StaleOrder):
        shop.orders.apply(paid, Amendment(settles_payment=CheckState.COMPLETED))
    assert shop.records.get(order.order_id).open


def test_a_paid_transition_whose_record_somebody_closed_first_writes_nothing():
    shop = Shop()
    order, record = _placed(shop)
    assert shop.records.settle(record, CheckState.COMPLETED)
    closed, writes, counters = shop.records.get(order.order_id), shop.orders.writes, shop.counters()

    with pytest.raises(PaymentAlreadySettled):
        shop.orders.apply(order.transition(S.PAID, shop.clock(), "payment confirmed"),
                          Amendment(settles_payment=CheckState.COMPLETED))
    assert shop.orders.get(order.order_id).status is S.PAYMENT_PENDING and shop.counters() == counters
    assert shop.records.get(order.order_id) == closed and shop.orders.writes == writes
    assert shop.orders.events() == ["OrderPlaced"]


def test_a_duplicate_confirmation_writes_nothing():
    shop = Shop()
    order, _ = _placed(shop)
    shop.phonepe.complete(order.order_id)
    assert apply_payment_event(_event(order), shop.phonepe, shop.settler).settlement is Settlement.PAID
    closed, writes, refused = shop.records.get(order.order_id), shop.orders.writes, shop.orders.refused

    assert apply_payment_event(_event(order), shop.phonepe, shop.settler).settlement is Settlement.ALREADY_SETTLED
    assert (shop.orders.writes, shop.orders.refused) == (writes, refused)  # not even a refused write
    assert shop.records.get(order.order_id) == closed and shop.orders.events() == ["OrderPlaced", "OrderPaid"]


def test_a_confirmation_losing_the_race_to_another_writes_nothing_and_the_record_is_closed_once():
    shop = Shop()
    order, record = _placed(shop)

    def the_other_confirmation_lands_first(transition):
        if transition.to_status is S.PAID:
            shop.orders.before_apply.clear()
            assert settle_with_status(record, _status(order), shop.settler) is Settlement.PAID

    shop.orders.before_apply.append(the_other_confirmation_lands_first)
    assert settle_with_status(record, _status(order), shop.settler) is Settlement.ALREADY_SETTLED
    assert shop.orders.writes == 2 and shop.orders.refused == 1  # checkout, the winner's move; ours cancelled
    assert shop.records.get(order.order_id).checks == 1 and shop.counters() == (3, 0, 2)
    assert shop.orders.events() == ["OrderPlaced", "OrderPaid"]
