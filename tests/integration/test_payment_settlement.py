"""Applying PhonePe's verdicts to orders through the real DynamoDB adapters (moto), with a
PhonePe stand-in whose status answers the test sets. What follows PAID (the shipment among it)
reacts to the OrderPaid event committed with the transition, so "asked to ship once" is "one
OrderPaid in the outbox". Orders are made over HTTP (checkout also writes the payment record);
time passes by handing the settler a later clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bazaar.checkout import services as checkout_services
from bazaar.money import Paise
from bazaar.platform.clock import fixed
from bazaar.orders import settlement
from bazaar.orders.adapters.dynamodb import DynamoDbOrderBook
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.payments.domain import CheckState, PaymentState, PaymentStatus, Settlement, StatusCheckPlan
from bazaar.orders.settlement import Settler, settle_with_status
from bazaar.platform.dynamo import from_item, to_value
from tests.conftest import bearer, get
from tests.shop import assert_balanced, checkout, create_product, new_account_token


class Shipments:
    """Which orders the outbox has told to ship: one OrderPaid each."""

    def __init__(self, local_stack):
        self._client, self._table = local_stack.client("dynamodb"), local_stack.names.table_name("order-events")
        self._orders: list[str] = []

    def watch(self, *order_ids: str) -> Shipments:
        self._orders += order_ids
        return self

    @property
    def sent(self) -> list[str]:
        sent = []
        for order_id in self._orders:
            items = self._client.query(
                TableName=self._table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
                ExpressionAttributeValues={":pk": to_value(f"ORDER#{order_id}")})["Items"]
            sent += [order_id for i in items if from_item(i)["event_type"] == "OrderPaid"]
        return sent


class AnswerLostOnce:
    """The order book, except that the first transition's answer is lost after it committed (the
    worker crashing right after the PAID transaction)."""

    def __init__(self, orders):
        self._orders, self._failed = orders, False

    def __getattr__(self, name):
        return getattr(self._orders, name)

    def apply(self, *args, **kwargs):
        applied = self._orders.apply(*args, **kwargs)
        if not self._failed:
            self._failed = True
            raise ConnectionError("the worker died before DynamoDB's answer arrived")
        return applied


@pytest.fixture(scope="module")
def tables(local_stack):
    client, names = local_stack.client("dynamodb"), local_stack.names
    orders = DynamoDbOrderBook(client, names.table_name("orders"), names.table_name("stock"),
                               events_table=names.table_name("order-events"), history_retention=timedelta(days=400))
    return orders, DynamoDbPaymentRecords(client, names.table_name("orders"))


@pytest.fixture(scope="module")
def seller(local_stack):
    return new_account_token(local_stack, "seller")[0]


def _settler(tables, shipments, at: datetime, orders=None) -> Settler:
    known_orders, records = tables
    return Settler(orders=orders or known_orders, records=records, plan=StatusCheckPlan(), clock=lambda: at)


def _order(local_stack, seller, units=3, quantity=2):
    product = create_product(local_stack.url, seller, [units])
    token, _ = new_account_token(local_stack, "customer")
    response = checkout(local_stack.url, token, [(product, 0, quantity)])
    assert response.status_code == 201, response.text
    return product, token, response.json()["order"]


def _status(order: dict, state: PaymentState, amount: int | None = None) -> PaymentStatus:
    return PaymentStatus(order["order_id"], state, order["total_paise"] if amount is None else amount)


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_payment_completed_after_its_lock_expired_sells_from_available_stock(local_stack, seller, tables):
    product, token, order = _order(local_stack, seller)
    variant_id = product["variants"][0]["variant_id"]
    orders, records = tables
    checkout_services.release_expired_locks(orders, fixed(_now() + timedelta(minutes=16)))
    assert get(f"{local_stack.url}/v1/orders/{order['order_id']}", headers=bearer(token)).json()["status"] == "EXPIRED"

    shipments = Shipments(local_stack).watch(order["order_id"])
    settler = _settler(tables, shipments, _now() + timedelta(minutes=17))
    record = records.get(order["order_id"])
    assert record.open  # the payment is still followed after the order's lock expired
    assert settle_with_status(record, _status(order, PaymentState.COMPLETED), settler) is Settlement.PAID
    again = settle_with_status(records.get(order["order_id"]), _status(order, PaymentState.COMPLETED), settler)

    assert again is Settlement.ALREADY_SETTLED and shipments.sent == [order["order_id"]]
    shown = get(f"{local_stack.url}/v1/orders/{order['order_id']}", headers=bearer(token)).json()
    assert [h["to_status"] for h in shown["history"]] == ["PAYMENT_PENDING", "EXPIRED", "PAID"]
    assert assert_balanced(local_stack, variant_id) == {"available": 1, "locked": 0, "sold": 2, "received": 3}
    assert records.get(order["order_id"]).state is CheckState.COMPLETED


def test_a_late_payment_whose_stock_was_sold_meanwhile_needs_a_refund(local_stack, seller, tables):
    product, token, order = _order(local_stack, seller, units=2, quantity=2)
    variant_id = product["variants"][0]["variant_id"]
    orders, records = tables
    checkout_services.release_expired_locks(orders, fixed(_now() + timedelta(minutes=16)))
    other_token, _ = new_account_token(local_stack, "customer")
    other = checkout(local_stack.url, other_token, [(product, 0, 2)]).json()["order"]
    shipments = Shipments(local_stack).watch(order["order_id"], other["order_id"])
    settler = _settler(tables, shipments, _now() + timedelta(minutes=17))
    settle_with_status(records.get(other["order_id"]), _status(other, PaymentState.COMPLETED), settler)

    outcome = settle_with_status(records.get(order["order_id"]), _status(order, PaymentState.COMPLETED), settler)

    assert outcome is Settlement.REFUND_NEEDED and shipments.sent == [other["order_id"]]
    assert get(f"{local_stack.url}/v1/orders/{order['order_id']}", headers=bearer(token)).json()["status"] == "NEEDS_REFUND"
    assert assert_balanced(local_stack, variant_id) == {"available": 0, "locked": 0, "sold": 2, "received": 2}


def test_phonepe_reporting_another_amount_is_never_fulfilled(local_stack, seller, tables):
    product, token, order = _order(local_stack, seller)
    variant_id = product["variants"][0]["variant_id"]
    shipments = Shipments(local_stack).watch(order["order_id"])
    _, records = tables
    wrong = _status(order, PaymentState.COMPLETED, amount=order["total_paise"] - 100)

    outcome = settle_with_status(records.get(order["order_id"]), wrong, _settler(tables, shipments, _now()))

    assert outcome is Settlement.MISMATCH and shipments.sent == []
    shown = get(f"{local_stack.url}/v1/orders/{order['order_id']}", headers=bearer(token)).json()
    assert shown["status"] == "NEEDS_REFUND" and "payment mismatch" in shown["history"][-1]["reason"]
    assert assert_balanced(local_stack, variant_id) == {"available": 3, "locked": 0, "sold": 0, "received": 3}
    assert records.get(order["order_id"]).state is CheckState.MISMATCH


def test_a_payment_still_pending_after_its_timeout_fails_the_order(local_stack, seller, tables):
    product, token, order = _order(local_stack, seller)
    variant_id = product["variants"][0]["variant_id"]
    _, records = tables
    record = records.get(order["order_id"])
    shipments = Shipments(local_stack).watch(order["order_id"])
    pending = _status(order, PaymentState.PENDING)

    early = settle_with_status(record, pending, _settler(tables, shipments, record.started_at + timedelta(seconds=21)))
    assert early is Settlement.STILL_PENDING
    assert records.get(order["order_id"]).next_check_at == record.started_at + timedelta(seconds=23)
    unconfirmed = PaymentStatus(order["order_id"], PaymentState.PENDING, None, confirmed=False)
    assert settle_with_status(record, unconfirmed, _settler(tables, shipments, record.started_at + timedelta(minutes=30))) \
        is Settlement.STILL_PENDING  # no verdict is never "failed"

    late = settle_with_status(record, pending, _settler(tables, shipments, record.started_at + timedelta(minutes=20)))

    assert late is Settlement.EXPIRED
    assert get(f"{local_stack.url}/v1/orders/{order['order_id']}", headers=bearer(token)).json()["status"] == "PAYMENT_FAILED"
    assert assert_balanced(local_stack, variant_id) == {"available": 3, "locked": 0, "sold": 0, "received": 3}
    assert records.get(order["order_id"]).state is CheckState.EXPIRED and records.get(order["order_id"]).next_check_at is None


def test_a_crash_after_the_paid_commit_leaves_the_record_closed_with_it_and_ships_once(local_stack, seller, tables):
    product, token, order = _order(local_stack, seller)
    orders, records = tables
    shipments = Shipments(local_stack).watch(order["order_id"])
    settler = _settler(tables, shipments, _now(), orders=AnswerLostOnce(orders))
    completed = _status(order, PaymentState.COMPLETED)

    with pytest.raises(ConnectionError):
        settle_with_status(records.get(order["order_id"]), completed, settler)
    assert get(f"{local_stack.url}/v1/orders/{order['order_id']}", headers=bearer(token)).json()["status"] == "PAID"
    # The record was closed in the PAID transaction itself: never PAID with the record open.
    assert records.get(order["order_id"]).state is CheckState.COMPLETED

    assert settle_with_status(records.get(order["order_id"]), completed, settler) is Settlement.ALREADY_SETTLED
    assert shipments.sent == [order["order_id"]]
    assert assert_balanced(local_stack, product["variants"][0]["variant_id"])["sold"] == 2


def test_an_order_paid_while_its_record_stayed_open_is_closed_by_the_next_confirmation_once(local_stack, seller,
                                                                                             tables):
    """An order moved to PAID without its record (a write made before the two were one
    transaction): the next confirmation closes the record and counts it, once."""
    product, _token, order = _order(local_stack, seller)
    orders, records = tables
    shipments = Shipments(local_stack).watch(order["order_id"])
    settler = _settler(tables, shipments, _now())
    completed = _status(order, PaymentState.COMPLETED)
    settlement.confirm_payment(order["order_id"], Paise(order["total_paise"]), orders, fixed(_now()))
    assert records.get(order["order_id"]).open

    assert settle_with_status(records.get(order["order_id"]), completed, settler) is Settlement.PAID
    assert settle_with_status(records.get(order["order_id"]), completed, settler) is Settlement.ALREADY_SETTLED
    assert records.get(order["order_id"]).state is CheckState.COMPLETED
    assert shipments.sent == [order["order_id"]]
    assert assert_balanced(local_stack, product["variants"][0]["variant_id"])["sold"] == 2


def test_a_first_confirmation_is_three_round_trips_and_a_duplicate_one(local_stack, seller, tables):
    from bazaar.orders.adapters.dynamodb import DynamoDbOrderBook
    from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
    from bazaar.platform.aws import RoundTrips

    _product, _token, order = _order(local_stack, seller)
    counter, names = RoundTrips(), local_stack.names
    client = counter.watch(local_stack.client("dynamodb"))
    counted = Settler(
        orders=DynamoDbOrderBook(client, names.table_name("orders"), names.table_name("stock"),
                                 events_table=names.table_name("order-events")),
        records=DynamoDbPaymentRecords(client, names.table_name("orders")), plan=StatusCheckPlan(), clock=_now)
    completed = _status(order, PaymentState.COMPLETED)

    counter.reset()
    first = settle_with_status(counted.records.get(order["order_id"]), completed, counted)
    assert first is Settlement.PAID and counter.counts == {"dynamodb": 3}  # record, order, one transaction
    counter.reset()
    assert counted.records.get(order["order_id"]).state is CheckState.COMPLETED
    assert counter.counts == {"dynamodb": 1}  # what apply_payment_event reads before it stops
