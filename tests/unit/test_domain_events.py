"""The one JSON form of every domain event (bazaar.platform.events), read and written from the
event's fields: the same for an order's, a payout's and a refund's events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bazaar.orders.events import EventLine, OrderEvent, OrderEventType
from bazaar.payouts.events import PayoutEvent, PayoutEventType
from bazaar.refunds.events import RefundEvent, RefundEventType

AT = datetime(2026, 12, 2, 10, 0, 0, 123000, tzinfo=UTC)
ORDER = OrderEvent("evt_ord1_000002", OrderEventType.ORDER_PAID, "ord_1", "usr_1", "provider:phonepe", AT, 2,
                   "PAYMENT_PENDING", "PAID", "", 1000, (EventLine("prd_1", "var_1", "usr_9", "SKU", 2, 500, 1000),),
                   {"transaction_id": "T1"})
PAYOUT = PayoutEvent("evt_pay_1_000003", PayoutEventType.PAYOUT_FAILED, "usr_9", "seller", 500, AT, "pay_1", 3,
                     "bank down")
REFUND = RefundEvent("evt_rfd_1_000002", RefundEventType.REFUND_APPROVED, "rfd_1", "ord_1", "usr_1", 100, "approved",
                     AT, 2)


@pytest.mark.parametrize("event", [ORDER, PAYOUT, REFUND], ids=lambda e: type(e).__name__)
def test_every_event_reads_back_as_it_was_written_in_one_form(event):
    written = json.loads(event.to_json())
    assert type(event).from_json(event.to_json()) == event
    assert written["occurred_at"] == "2026-12-02T10:00:00.123000Z"
    assert written["currency"] == "INR" and written["event_type"] == event.event_type.value
    assert list(written) == sorted(written)


def test_an_order_events_lines_and_facts_travel_as_objects():
    written = json.loads(ORDER.to_json())
    assert written["lines"] == [{"product_id": "prd_1", "variant_id": "var_1", "seller_id": "usr_9", "sku": "SKU",
                                 "quantity": 2, "unit_price_paise": 500, "total_paise": 1000}]
    assert written["facts"] == {"transaction_id": "T1"}


def test_fields_a_consumer_does_not_know_are_ignored_and_missing_optional_ones_take_their_defaults():
    written = json.loads(PAYOUT.to_json()) | {"added_later": {"x": 1}}
    del written["reason"], written["facts"]
    read = PayoutEvent.from_json(json.dumps(written))
    assert read.reason == "" and read.facts == {} and read.event_id == PAYOUT.event_id
    order = json.loads(ORDER.to_json())
    del order["from_status"], order["reason"]
    assert OrderEvent.from_json(json.dumps(order)).from_status is None


@pytest.mark.parametrize(("change", "error"), [
    ({"event_id": ""}, ValueError), ({"order_id": 7}, ValueError), ({"total_paise": True}, ValueError),
    ({"event_type": "NoSuchThing"}, ValueError), ({"occurred_at": "yesterday"}, ValueError),
])
def test_a_payload_that_is_not_an_order_event_is_refused(change, error):
    with pytest.raises(error):
        OrderEvent.from_json(json.dumps(json.loads(ORDER.to_json()) | change))


def test_an_identifier_is_never_defaulted_and_a_non_object_is_refused():
    written = json.loads(REFUND.to_json())
    del written["refund_id"]
    with pytest.raises(KeyError):
        RefundEvent.from_json(json.dumps(written))
    with pytest.raises(ValueError, match="a refund event is a JSON object"):
        RefundEvent.from_json("[]")
