"""Refunds (bazaar.orders.fulfilment.refund / poll_open_refunds) over the fakes: recorded with
their audit entry before PhonePe is asked, under an id a retry reuses, and followed until
PhonePe settles them."""

from __future__ import annotations

import pytest

from bazaar.money import Paise
from bazaar.orders.aftersale import Admin, RefundExceedsPaid
from bazaar.orders.domain import OrderStatus, RefundState
from bazaar.orders.fulfilment import poll_open_refunds, refund
from bazaar.payments.domain import PaymentProviderRejected, PaymentProviderUnavailable
from bazaar.payments.domain import RefundState as PhonePeRefundState
from tests.unit.fakes import Shop

S = OrderStatus
ADMIN = Admin(actor_id="usr_ADMIN", request_id="req-1", reason="damaged in transit")


def _refund(shop: Shop, order_id: str, paise: int):
    return refund(order_id, Paise(paise), ADMIN, shop.orders, shop.phonepe, shop.clock, shop.new_id)


def test_a_refund_is_recorded_and_audited_before_phonepe_is_asked_then_followed_until_completed():
    shop = Shop()
    order = shop.paid_order()
    asked = _refund(shop, order.order_id, order.total.amount)

    [record] = asked.refunds
    assert (record.merchant_refund_id, record.state) == (f"{order.order_id}-R01", RefundState.PENDING)
    assert asked.status is S.PAID
    assert shop.phonepe.calls[-1] == ("refund", record.merchant_refund_id)
    assert [a.target_id for a in shop.orders.audit] == [order.order_id]
    assert shop.orders.events()[-1] == "RefundRequested"
    assert shop.orders.open_refunds(10) == [(order.order_id, record.merchant_refund_id)]

    assert poll_open_refunds(shop.orders, shop.phonepe, shop.clock) == {"orders_checked": 1, "orders_failed": 0}
    assert shop.orders.get(order.order_id).status is S.PAID  # still pending at PhonePe

    shop.phonepe.settle_refund(record.merchant_refund_id, PhonePeRefundState.COMPLETED)
    poll_open_refunds(shop.orders, shop.phonepe, shop.clock)
    done = shop.orders.get(order.order_id)
    assert done.status is S.REFUNDED and done.refunds[0].state is RefundState.COMPLETED
    assert shop.orders.open_refunds(10) == []
    assert shop.orders.events()[-1] == "Refunded"

    assert poll_open_refunds(shop.orders, shop.phonepe, shop.clock) == {"orders_checked": 0, "orders_failed": 0}
    assert shop.orders.events().count("Refunded") == 1


def test_part_refunds_leave_the_order_partially_refunded_until_the_total_is_back():
    shop = Shop()
    order = shop.paid_order()  # 2 x 249.00
    shop.phonepe.refund_state_on_create = PhonePeRefundState.COMPLETED
    assert _refund(shop, order.order_id, 24_900).status is S.PARTIALLY_REFUNDED
    with pytest.raises(RefundExceedsPaid):
        _refund(shop, order.order_id, 24_901)
    assert _refund(shop, order.order_id, 24_900).status is S.REFUNDED
    assert shop.orders.events()[2:] == ["RefundRequested", "PartiallyRefunded", "RefundRequested", "Refunded"]


def test_a_refund_phonepe_refuses_is_marked_failed_and_frees_its_amount():
    shop = Shop()
    order = shop.paid_order()
    shop.phonepe.fail_next("refund", PaymentProviderRejected("no", provider_code="BAD_REQUEST"))
    with pytest.raises(PaymentProviderRejected):
        _refund(shop, order.order_id, order.total.amount)
    assert shop.orders.get(order.order_id).refunds[0].state is RefundState.FAILED
    assert shop.orders.open_refunds(10) == []
    again = _refund(shop, order.order_id, order.total.amount)  # the failed one holds no amount
    assert [r.merchant_refund_id[-3:] for r in again.refunds] == ["R01", "R02"]


def test_a_refund_whose_answer_was_lost_is_sent_again_under_the_same_id():
    shop = Shop()
    order = shop.paid_order()
    shop.phonepe.fail_next("refund", PaymentProviderUnavailable("timed out"))
    with pytest.raises(PaymentProviderUnavailable):
        _refund(shop, order.order_id, 10_000)
    assert shop.orders.get(order.order_id).refunds[0].state is RefundState.REQUESTED

    retried = _refund(shop, order.order_id, 10_000)
    assert len(retried.refunds) == 1 and retried.refunds[0].state is RefundState.PENDING
    assert [c for c in shop.phonepe.calls if c[0] == "refund"] == [("refund", f"{order.order_id}-R01")] * 2
