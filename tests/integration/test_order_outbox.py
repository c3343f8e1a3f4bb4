"""The outbox against moto's DynamoDB through the real adapters: every order change commits its
event in the same transaction, a change that is refused or cancelled emits nothing, and an
event carries the facts a consumer needs (amounts in paise, the seller of every line)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bazaar.orders import settlement
from bazaar.money import Paise
from bazaar.platform.clock import fixed
from bazaar.orders.domain import OrderStatus, StaleOrder
from bazaar.orders.events import OrderEvent
from bazaar.platform.dynamo import from_item, to_value
from tests.shop import checkout, create_product, new_account_token


def _events(local_stack, order_id: str) -> list[OrderEvent]:
    response = local_stack.client("dynamodb").query(
        TableName=local_stack.names.table_name("order-events"), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": to_value(f"ORDER#{order_id}")}, ConsistentRead=True,
    )
    return [OrderEvent.from_json(from_item(i)["body"]) for i in response.get("Items", [])]


def _placed(local_stack, api, quantity=2, stock=5) -> tuple[dict, dict, str]:
    seller_token, seller_id = new_account_token(local_stack, "seller")
    product = create_product(api, seller_token, [stock])
    token, _ = new_account_token(local_stack, "customer")
    response = checkout(api, token, [(product, 0, quantity)])
    assert response.status_code == 201, response.text
    return response.json()["order"], product, seller_id


def test_checkout_commits_order_placed_with_its_lines_sellers(local_stack, api):
    order, product, seller_id = _placed(local_stack, api)

    [placed] = _events(local_stack, order["order_id"])

    assert placed.event_type == "OrderPlaced" and placed.order_version == 1
    assert placed.total_paise == order["total_paise"] and placed.to_status == "PAYMENT_PENDING"
    assert placed.actor.startswith("customer:") and placed.customer_id == placed.actor.removeprefix("customer:")
    assert [line.seller_id for line in placed.lines] == [seller_id]
    assert placed.lines[0].variant_id == product["variants"][0]["variant_id"]
    assert sum(line.total_paise for line in placed.lines) == placed.total_paise


def test_each_change_commits_exactly_one_event_numbered_by_version(local_stack, api, orders):
    order, _, _ = _placed(local_stack, api)
    now = datetime.now(UTC)

    paid = settlement.confirm_payment(order["order_id"], Paise(order["total_paise"]), orders, fixed(now))
    settlement.confirm_payment(order["order_id"], Paise(order["total_paise"]), orders, fixed(now))  # a duplicate

    events = _events(local_stack, order["order_id"])
    assert [(e.event_type, e.order_version) for e in events] == [("OrderPlaced", 1), ("OrderPaid", 2)]
    assert paid.status is OrderStatus.PAID and paid.version == 2
    assert events[1].facts["amount_paise"] == order["total_paise"]
    assert len({e.event_id for e in events}) == 2


def test_a_refused_or_stale_change_emits_nothing(local_stack, api, orders):
    order, _, _ = _placed(local_stack, api)
    current = orders.get(order["order_id"])
    orders.apply(current.transition(OrderStatus.CANCELLED, datetime.now(UTC), "cancelled in a test"))

    # The same read order written again: its condition fails, the transaction is cancelled.
    with pytest.raises(StaleOrder):
        orders.apply(current.transition(OrderStatus.EXPIRED, datetime.now(UTC) + timedelta(minutes=16),
                                        "lock expired", only_if_lock_expired_by=datetime.now(UTC)))

    assert [e.event_type for e in _events(local_stack, order["order_id"])] == ["OrderPlaced", "OrderCancelled"]


def test_an_out_of_stock_checkout_emits_nothing(local_stack, api):
    seller_token, _ = new_account_token(local_stack, "seller")
    product = create_product(api, seller_token, [1])
    token, customer_id = new_account_token(local_stack, "customer")

    refused = checkout(api, token, [(product, 0, 2)])

    assert refused.status_code == 409
    scan = local_stack.client("dynamodb").scan(
        TableName=local_stack.names.table_name("order-events"), FilterExpression="contains(body, :c)",
        ExpressionAttributeValues={":c": to_value(customer_id)},
    )
    assert scan["Items"] == []
