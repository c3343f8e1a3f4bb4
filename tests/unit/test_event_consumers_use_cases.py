"""What follows a committed order change, over the fakes: the outbox relay hands each event to the
queues that take it (at least once, redelivering from the first failure), and the shopper's feed
gets one entry per event however often it is delivered."""

from __future__ import annotations

import pytest

from bazaar.catalog.domain import OutOfStock
from bazaar.notifications.order_updates import NOTIFIED_EVENTS
from bazaar.notifications.services import tell_the_shopper
from bazaar.orders.events import OrderEvent
from bazaar.orders.relay import Routes, relay
from bazaar.shipping.fulfilment import ship_paid_order
from tests.unit.fakes import FakeEventQueues, Shop

ROUTES = Routes.from_queues({"notifications": NOTIFIED_EVENTS, "shipments": ["OrderPaid"],
                             "order-metrics": ["OrderPlaced", "OrderPaid", "ShipmentCreated"]})


def _a_shipped_order(shop: Shop):
    order = shop.paid_order()
    ship_paid_order(order.order_id, shop.orders, shop.shiprocket, shop.clock, contact_email="ops@bazaar.example",
                    last_attempt=False)
    return order


def test_the_shopper_is_told_once_per_event_however_often_it_is_delivered():
    shop = Shop()
    order = _a_shipped_order(shop)
    events = [OrderEvent.from_json(r.body) for r in shop.orders.outbox_records()]

    told = [tell_the_shopper(e, shop.outlets) for e in events]
    assert [n.kind.value if n else None for n in told] == [None, "order_paid", "order_shipment_booked"]
    for event in events * 3:  # redelivered, in and out of order
        tell_the_shopper(event, shop.outlets)
    feed = shop.feeds.of(order.customer_id)
    assert [e.title for e in feed] == ["Shipment booked", "Payment received"]
    assert "AWB2001" in feed[0].body and "₹498.00" in feed[1].body
    assert shop.feeds.unread_count(order.customer_id) == 2


def test_the_relay_sends_each_committed_event_to_the_queues_that_take_it():
    shop = Shop()
    _a_shipped_order(shop)
    records = shop.orders.outbox_records()
    queues = FakeEventQueues()

    assert relay(records, ROUTES, queues) is None
    paid = records[1].event_id
    assert queues.received == {
        "order-metrics": [r.event_id for r in records],
        "notifications": [paid, records[2].event_id],
        "shipments": [paid],
    }


def test_a_failed_send_is_redelivered_from_the_first_event_not_sent_and_consumers_act_once():
    shop = Shop()
    order = _a_shipped_order(shop)
    records = shop.orders.outbox_records()
    queues = FakeEventQueues(refuse={"notifications": {records[2].event_id}})

    position = relay(records, ROUTES, queues)
    assert position == records[2].position
    # The stream hands over that record and everything after it again.
    assert relay([r for r in records if int(r.position) >= int(position)], ROUTES, queues) is None
    assert queues.received["order-metrics"].count(records[2].event_id) == 2  # at least once, not exactly once

    for event_id in queues.received["notifications"]:
        record = next(r for r in records if r.event_id == event_id)
        tell_the_shopper(OrderEvent.from_json(record.body), shop.outlets)
    assert len(shop.feeds.of(order.customer_id)) == 2


def test_a_refused_change_leaves_nothing_in_the_outbox_for_the_relay():
    shop = Shop()
    order = shop.checkout(("var_RED", 5)).order
    with pytest.raises(OutOfStock):
        shop.checkout(("var_RED", 1), customer="usr_RAVI")
    assert [r.event_type for r in shop.orders.outbox_records()] == ["OrderPlaced"]
    assert shop.orders.outbox[0].order_id == order.order_id
