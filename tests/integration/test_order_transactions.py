"""The order book's transactions against moto's DynamoDB: a cancelled one is read by the names of
its items (bazaar.platform.dynamo.Transaction), so the error a caller gets is the one its failed
item means, and nothing of the transaction is written. The cancellation the adapter decoded is
the context of the error it raised."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.catalog.domain import OutOfStock
from bazaar.money import Paise
from bazaar.orders.domain import HistoryEntry, Order, OrderLine, OrderStatus, ShippingAddress, StaleOrder
from bazaar.platform.dynamo import TransactionCancelled
from bazaar.platform.idempotency import IdempotencyKeys, KeyTaken
from tests.shop import ADDRESS, assert_balanced, checkout, create_product, new_account_token

LATER = timedelta(minutes=16)  # past the 15-minute lock


@pytest.fixture(scope="module")
def seller_token(local_stack):
    return new_account_token(local_stack, "seller")[0]


def _cancellation(raised: pytest.ExceptionInfo) -> TransactionCancelled:
    cancelled = raised.value.__context__
    assert isinstance(cancelled, TransactionCancelled), repr(cancelled)
    return cancelled


def _checked_out(local_stack, api, product, lines: list[tuple[int, int]]) -> dict:
    token, _ = new_account_token(local_stack, "customer")
    response = checkout(api, token, [(product, index, quantity) for index, quantity in lines])
    assert response.status_code == 201, response.text
    return response.json()["order"]


def _new_order(product: dict, lines: list[tuple[int, int]], now: datetime) -> Order:
    return Order(
        order_id=f"ord_{uuid.uuid4().hex}", customer_id=f"usr_{uuid.uuid4().hex}",
        status=OrderStatus.PAYMENT_PENDING,
        lines=tuple(OrderLine(product["product_id"], product["variants"][i]["variant_id"],
                              product["variants"][i]["sku"], product["title"], Paise(product["variants"][i]["price_paise"]),
                              quantity, product["seller_id"]) for i, quantity in lines),
        shipping_address=ShippingAddress(**ADDRESS), created_at=now, updated_at=now, lock_expires_at=now + LATER,
        history=(HistoryEntry(now, None, OrderStatus.PAYMENT_PENDING, "checked out; stock locked"),),
    )


def test_a_lock_not_expired_yet_is_a_stale_order_from_the_order_item_alone(local_stack, api, seller_token, orders):
    product = create_product(api, seller_token, [5])
    variant_id = product["variants"][0]["variant_id"]
    placed = _checked_out(local_stack, api, product, [(0, 2)])
    now = datetime.now(UTC)
    current = orders.get(placed["order_id"])

    # The cleanup's expiry, conditional on a lock that still has 15 minutes to run.
    with pytest.raises(StaleOrder) as raised:
        orders.apply(current.transition(OrderStatus.EXPIRED, now, "lock expired", only_if_lock_expired_by=now))

    assert _cancellation(raised).failed_names == ["order"]
    assert _cancellation(raised).failed("order")
    after = orders.get(placed["order_id"])
    assert after.status is OrderStatus.PAYMENT_PENDING and after.version == 1 and len(after.history) == 1
    assert assert_balanced(local_stack, variant_id) == {"available": 3, "locked": 2, "sold": 0, "received": 5}


def test_a_late_payment_names_exactly_the_variant_that_was_sold_meanwhile(local_stack, api, seller_token, orders):
    product = create_product(api, seller_token, [5, 2])
    plenty, short = (v["variant_id"] for v in product["variants"])
    placed = _checked_out(local_stack, api, product, [(0, 2), (1, 2)])
    later = datetime.now(UTC) + LATER
    orders.apply(orders.get(placed["order_id"]).transition(OrderStatus.EXPIRED, later, "lock expired",
                                                          only_if_lock_expired_by=later))
    _checked_out(local_stack, api, product, [(1, 2)])  # another shopper takes what was given back
    expired = orders.get(placed["order_id"])

    with pytest.raises(OutOfStock) as raised:
        orders.apply(expired.transition(OrderStatus.PAID, later, "payment confirmed", actor="provider:phonepe"))

    assert raised.value.variant_ids == [short]
    assert _cancellation(raised).failed_names == [f"stock:{short}"]
    assert not _cancellation(raised).failed(f"stock:{plenty}") and not _cancellation(raised).failed("order")
    assert orders.get(placed["order_id"]).status is OrderStatus.EXPIRED
    assert assert_balanced(local_stack, plenty) == {"available": 5, "locked": 0, "sold": 0, "received": 5}
    assert assert_balanced(local_stack, short) == {"available": 0, "locked": 2, "sold": 0, "received": 2}


def test_placing_names_exactly_the_short_variant_and_writes_nothing(local_stack, api, seller_token, orders):
    product = create_product(api, seller_token, [5, 1])
    plenty, short = (v["variant_id"] for v in product["variants"])
    order = _new_order(product, [(0, 2), (1, 3)], datetime.now(UTC))

    with pytest.raises(OutOfStock) as raised:
        orders.place(order, hold_cap=10)

    assert raised.value.variant_ids == [short]
    assert _cancellation(raised).failed_names == [f"stock:{short}"]
    assert orders.get(order.order_id) is None
    assert assert_balanced(local_stack, plenty) == {"available": 5, "locked": 0, "sold": 0, "received": 5}


def test_a_taken_key_is_answered_from_its_record_before_the_stock(local_stack, api, seller_token, orders):
    product = create_product(api, seller_token, [3])
    keys = IdempotencyKeys("test-place", local_stack.names.table_name("idempotency"), local_stack.client("dynamodb"))
    now = datetime.now(UTC)
    first = keys.claim(caller="c1", key="k", body={"a": 1}, now=now)
    orders.place(_new_order(product, [(0, 1)], now), hold_cap=10, key=first)

    # The same key again, for more than is left: the key's record answers, not the stock.
    again = keys.claim(caller="c1", key="k", body={"a": 2}, now=now)
    with pytest.raises(KeyTaken) as raised:
        orders.place(_new_order(product, [(0, 5)], now), hold_cap=10, key=again)

    assert raised.value.existing is not None and raised.value.existing["body_hash"] == first.body_hash
    assert _cancellation(raised).failed("key")
    assert _cancellation(raised).failed(f"stock:{product['variants'][0]['variant_id']}")
