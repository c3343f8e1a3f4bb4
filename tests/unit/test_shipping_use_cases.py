"""Shipping a paid order and following its scans (bazaar.shipping.fulfilment) over the fakes: the
shipment is recorded once with its AWB, a job out of retries leaves the order SHIPMENT_FAILED for
an admin, and scans only ever move the order forward."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bazaar.orders.domain import OrderStatus
from bazaar.shipping.domain import ProviderUnavailable, TrackingConfirmation
from bazaar.shipping.fulfilment import apply_tracking, ship_paid_order
from bazaar.shipping.tracking import TrackingScan, classify, is_known
from tests.unit.fakes import Shop

S = OrderStatus


def _ship(shop: Shop, order_id: str, *, last_attempt: bool = False):
    return ship_paid_order(order_id, shop.orders, shop.shiprocket, shop.clock, contact_email="ops@bazaar.example",
                           last_attempt=last_attempt)


def test_a_paid_order_is_shipped_once_with_its_awb_mapped_to_it():
    shop = Shop()
    order = shop.paid_order()
    result = _ship(shop, order.order_id)

    assert result.outcome == "shipped" and result.order.status is S.SHIPMENT_CREATED
    shipment = shop.orders.get(order.order_id).shipment
    assert shipment is not None and shipment.awb == "AWB2001" and shipment.courier_name == "Delhivery"
    assert shop.orders.order_for_awb("AWB2001") == order.order_id
    assert shop.shiprocket.calls == ["find", "create", "awb", "pickup"]
    assert shop.orders.events() == ["OrderPlaced", "OrderPaid", "ShipmentCreated"]
    assert shop.orders.outbox[-1].facts == {"awb": "AWB2001", "courier_name": "Delhivery"}

    again = _ship(shop, order.order_id)  # SQS delivered the job twice
    assert again.outcome == "already_done"
    assert shop.shiprocket.calls == ["find", "create", "awb", "pickup"] and len(shop.orders.outbox) == 3


def test_orders_that_are_not_ours_or_not_paid_are_not_shipped():
    shop = Shop()
    pending = shop.checkout(("var_RED", 1)).order
    assert _ship(shop, "ord_NOSUCHORDER0000000000000").outcome == "unknown_order"
    assert _ship(shop, pending.order_id).outcome == "not_shippable"
    assert shop.shiprocket.calls == []


def test_a_provider_failure_is_retried_and_only_the_last_attempt_marks_the_order_failed():
    shop = Shop()
    order = shop.paid_order()
    shop.shiprocket.fail_next("awb", ProviderUnavailable("503"), times=2)

    with pytest.raises(ProviderUnavailable):
        _ship(shop, order.order_id)
    assert shop.orders.get(order.order_id).status is S.PAID and shop.orders.needing_attention(10) == []

    with pytest.raises(ProviderUnavailable):
        _ship(shop, order.order_id, last_attempt=True)
    failed = shop.orders.get(order.order_id)
    assert failed.status is S.SHIPMENT_FAILED and "503" in failed.history[-1].reason
    assert [o.order_id for o in shop.orders.needing_attention(10)] == [order.order_id]
    assert shop.orders.events()[-1] == "ShipmentFailed"

    # An admin re-drives it later: the same provider order is picked up, not a second one.
    shipped = _ship(shop, order.order_id)
    assert shipped.outcome == "shipped" and shipped.order.status is S.SHIPMENT_CREATED
    assert len(shop.shiprocket.orders) == 1 and shop.shiprocket.calls.count("create") == 1
    assert shop.orders.needing_attention(10) == []


def _confirmed(awb: str, label: str, status_id: int, minutes: int, shop: Shop) -> TrackingConfirmation:
    scan = TrackingScan(label, shipment_status_id=status_id, at=shop.clock() + timedelta(minutes=minutes))
    return TrackingConfirmation(awb=awb, channel_order_id=None, current=scan, state=classify(scan), label=label,
                                known_label=is_known(scan), scans=(scan,))


def test_scans_move_the_order_forward_only_and_each_scan_is_kept_once():
    shop = Shop()
    order = shop.paid_order()
    awb = _ship(shop, order.order_id).order.shipment.awb

    in_transit = _confirmed(awb, "IN TRANSIT", 18, 60, shop)
    assert apply_tracking(in_transit, shop.orders, shop.clock).status is S.IN_TRANSIT
    version = shop.orders.get(order.order_id).version

    assert apply_tracking(in_transit, shop.orders, shop.clock).version == version  # the same scan again
    late = apply_tracking(_confirmed(awb, "PICKUP SCHEDULED", 3, 30, shop), shop.orders, shop.clock)
    assert late.status is S.IN_TRANSIT and late.history[-1].reason.endswith("state unchanged")

    delivered = apply_tracking(_confirmed(awb, "DELIVERED", 7, 120, shop), shop.orders, shop.clock)
    assert delivered.status is S.DELIVERED
    assert [h.to_status for h in shop.orders.get(order.order_id).history] == [
        S.PAYMENT_PENDING, S.PAID, S.SHIPMENT_CREATED, S.IN_TRANSIT, S.IN_TRANSIT, S.DELIVERED]
    # The late scan's note is history, not news: no event for it.
    assert shop.orders.events() == ["OrderPlaced", "OrderPaid", "ShipmentCreated", "InTransit", "Delivered"]


def test_a_scan_for_an_awb_that_is_not_ours_changes_nothing():
    shop = Shop()
    assert apply_tracking(_confirmed("AWB-UNKNOWN", "DELIVERED", 7, 1, shop), shop.orders, shop.clock) is None
    assert shop.orders.writes == 0 and shop.orders.outbox == []
