"""The order events backbone as pure functions: every change names its event, the relay's
redelivery point, what the shopper is told and what the figures count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bazaar.money import Paise
from bazaar.notifications.order_updates import NOTIFIED_EVENTS, notification_for, rupees
from bazaar.ops.business_metrics import MEASURED_EVENTS, figures_for
from bazaar.orders.domain import EMITS, TRANSITIONS, HistoryEntry, Order, OrderLine, OrderStatus, ShippingAddress
from bazaar.orders.events import OrderEvent, OrderEventType
from bazaar.orders.relay import OutboxRecord, Routes, relay
from infra.description.contexts import notifications as notifications_description
from infra.description.contexts import ops as ops_description

S = OrderStatus
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _order(status=S.PAYMENT_PENDING, version=1) -> Order:
    return Order(
        order_id="ord_01JD0000000000000000000000", customer_id="usr_c", status=status,
        lines=(OrderLine("prd_1", "var_1", "SKU-1", "Phone (Blue)", Paise(149900), 2, "usr_seller_a"),
               OrderLine("prd_2", "var_2", "SKU-2", "Case", Paise(50), 1, "usr_seller_b")),
        shipping_address=ShippingAddress("A", "9999999999", "1 Road", "Pune", "MH", "411001"),
        created_at=NOW, updated_at=NOW, lock_expires_at=NOW, version=version,
        history=(HistoryEntry(NOW, None, S.PAYMENT_PENDING, "checked out"),),
    )


def test_every_transition_in_the_table_emits_the_event_of_the_status_it_enters():
    for source, row in TRANSITIONS.items():
        for target in row:
            transition = _order(source, version=3).transition(target, NOW, "test", actor="system:test")
            event = transition.event
            assert event is not None and event.event_type is EMITS[target]
            assert (event.order_version, event.from_status, event.to_status) == (4, source.value, target.value)


def test_a_plain_note_emits_nothing_and_a_newsworthy_note_emits_its_event():
    order = _order(S.PAID, version=2)
    assert order.note(NOW, "scan kept").event is None
    asked = order.note(NOW, "refund asked", emits=OrderEventType.REFUND_REQUESTED, facts={"amount_paise": 100})
    assert asked.event.event_type is OrderEventType.REFUND_REQUESTED and asked.event.to_status == "PAID"


def test_an_event_carries_amounts_in_paise_and_the_seller_of_every_line_and_round_trips_as_json():
    event = _order().transition(S.PAID, NOW, "payment confirmed", actor="provider:phonepe").event

    again = OrderEvent.from_json(event.to_json())

    assert again == event
    assert event.total_paise == 2 * 149900 + 50 == sum(line.total_paise for line in event.lines)
    assert event.seller_ids == ("usr_seller_a", "usr_seller_b")
    assert event.event_id == "evt_01JD0000000000000000000000_000002"


def test_the_same_change_written_twice_has_the_same_event_id():
    order = _order()
    first = order.transition(S.PAID, NOW, "payment confirmed").event
    retried = order.transition(S.PAID, NOW.replace(second=5), "payment confirmed").event
    assert first.event_id == retried.event_id


@pytest.mark.parametrize("text", ["", "[]", '{"event_id": "evt_x"}', '{"event_type": "Nope"}', "not json"])
def test_a_payload_that_is_not_an_order_event_is_refused(text):
    with pytest.raises((ValueError, KeyError, TypeError)):
        OrderEvent.from_json(text)


class FakeQueues:
    def __init__(self, failing: dict[str, set[str]] | None = None):
        self.sent: dict[str, list[str]] = {}
        self.failing = failing or {}

    def send(self, queue, records):
        failed = {r.event_id for r in records if r.event_id in self.failing.get(queue, set())}
        self.sent.setdefault(queue, []).extend(r.event_id for r in records if r.event_id not in failed)
        return failed


def _records(*types: str) -> list[OutboxRecord]:
    return [OutboxRecord(f"{n:03d}", f"evt_{n}", t, "{}") for n, t in enumerate(types, start=1)]


ROUTES = Routes.from_queues({"shipments": ["OrderPaid"], "notes": ["OrderPaid", "Delivered"]})


def test_the_relay_sends_each_event_to_every_queue_that_takes_its_type_and_drops_the_rest():
    queues = FakeQueues()
    assert relay(_records("OrderPlaced", "OrderPaid", "Delivered"), ROUTES, queues) is None
    assert queues.sent == {"notes": ["evt_2", "evt_3"], "shipments": ["evt_2"]}


def test_the_relay_names_the_first_event_not_delivered_to_all_its_queues():
    queues = FakeQueues(failing={"notes": {"evt_3"}, "shipments": {"evt_4"}})
    records = _records("OrderPaid", "OrderPlaced", "Delivered", "OrderPaid")
    assert relay(records, ROUTES, queues) == "003"


def test_the_shopper_is_told_in_rupees_with_an_id_made_from_the_event():
    event = _order().transition(S.PAID, NOW, "payment confirmed").event
    notification = notification_for(event)
    assert notification.user_id == "usr_c" and notification.kind == "order_paid"
    assert "₹2998.50" in notification.body
    assert notification.notification_id == "ntf_01JD0000000000000000000000000002"
    assert notification_for(_order().transition(S.CANCELLED, NOW, "x").event) is None
    assert rupees(5) == "₹0.05" and rupees(149900) == "₹1499.00"


def test_figures_count_each_order_event_and_revenue_in_paise():
    paid = _order().transition(S.PAID, NOW, "paid").event
    assert [(f.name, f.value) for f in figures_for(paid)] == [("OrdersPaid", 1), ("RevenuePaise", 299850)]
    assert figures_for(_order(S.PAID).transition(S.SHIPMENT_CREATED, NOW, "x").event) == []


def test_the_description_routes_exactly_the_events_each_consumer_takes():
    assert notifications_description.NOTIFIED_EVENTS == NOTIFIED_EVENTS
    assert ops_description.MEASURED_EVENTS == MEASURED_EVENTS
