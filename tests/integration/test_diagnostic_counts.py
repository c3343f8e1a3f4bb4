"""What diagnostics count, against moto's DynamoDB with the orders, payouts and refunds tables as
the description declares them (indexes included), in a moto server of the test's own: the window
of the order counts is the `by-status` index's key condition, so its boundaries are DynamoDB's;
an order is one item however often it changes; the backlogs' oldest item is the index's first."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.money import Paise
from bazaar.ops import services
from bazaar.orders.adapters.dynamodb import DynamoDbOrdersInStatus, _order_item
from bazaar.orders.domain import Order, OrderLine, OrderStatus, ShippingAddress
from bazaar.payouts.adapters.dynamodb import DynamoDbPayoutCensus, _payout_item
from bazaar.payouts.domain import OPEN as OPEN_PAYOUTS
from bazaar.payouts.domain import Payout, PayoutStatus, PayoutTrigger
from bazaar.refunds.adapters.dynamodb import DynamoDbRefundBook, _item as _refund_item
from bazaar.refunds.domain import OPEN as OPEN_REFUNDS
from bazaar.refunds.domain import RefundReason, RefundRequest, RefundStatus
from infra.description import SERVICE
from infra.local.aws import LocalNames, MotoServer, create_table
from infra.local.stack import free_port
from tests.shop import ADDRESS

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


@pytest.fixture(scope="module")
def moto():
    server = MotoServer(free_port())
    server.start()
    names = LocalNames(service="diagnostics-test", endpoint=server.endpoint)
    for table in ("orders", "payouts", "refunds"):
        create_table(SERVICE, server, names, table)
    yield server.client("dynamodb"), names
    server.stop()


@pytest.fixture
def tables(moto):
    """Each test's own tables' contents: what an earlier test wrote is deleted first."""
    client, names = moto
    for table in ("orders", "payouts", "refunds"):
        for page in client.get_paginator("scan").paginate(TableName=names.table_name(table)):
            for item in page["Items"]:
                client.delete_item(TableName=names.table_name(table), Key={"pk": item["pk"], "sk": item["sk"]})
    return client, names


def _order(status: OrderStatus, changed_at: datetime) -> Order:
    return Order(order_id=f"ord_{uuid.uuid4().hex}", customer_id="usr_shopper", status=status,
                 lines=(OrderLine("prd_1", "var_1", "SKU-1", "Kettle", Paise(49_900), 1, "usr_seller"),),
                 shipping_address=ShippingAddress(**ADDRESS), created_at=changed_at - timedelta(minutes=5),
                 updated_at=changed_at, lock_expires_at=changed_at + timedelta(minutes=10))


def _put_order(tables, order: Order) -> None:
    client, names = tables
    client.put_item(TableName=names.table_name("orders"), Item=_order_item(order))


def _counts(tables) -> dict[str, int]:
    client, names = tables
    census = DynamoDbOrdersInStatus(client, names.table_name("orders"))
    return services.order_counts(census, list(OrderStatus), NOW).by_status


def test_the_window_starts_at_exactly_24_hours_ago_to_the_millisecond(tables):
    _put_order(tables, _order(OrderStatus.PAID, NOW - DAY))
    _put_order(tables, _order(OrderStatus.PAID, NOW - DAY - timedelta(milliseconds=1)))
    _put_order(tables, _order(OrderStatus.CANCELLED, NOW))
    _put_order(tables, _order(OrderStatus.DELIVERED, NOW - timedelta(days=3)))

    counts = _counts(tables)

    assert counts["PAID"] == 1 and counts["CANCELLED"] == 1 and counts["DELIVERED"] == 0
    assert sum(counts.values()) == 2


def test_an_order_rewritten_through_several_statuses_counts_once_in_its_last(tables):
    order = _order(OrderStatus.PAYMENT_PENDING, NOW - timedelta(hours=2))
    _put_order(tables, order)
    _put_order(tables, paid := replace(order, status=OrderStatus.PAID, updated_at=NOW - timedelta(hours=1), version=2))
    _put_order(tables, replace(paid, status=OrderStatus.SHIPMENT_CREATED, updated_at=NOW - timedelta(minutes=5),
                               version=3))

    counts = _counts(tables)

    assert counts["SHIPMENT_CREATED"] == 1 and sum(counts.values()) == 1


def _payout(status: PayoutStatus, created_at: datetime) -> Payout:
    return Payout(payout_id=f"pout_{uuid.uuid4().hex}", payee="seller:usr_seller", amount=Paise(40_000), postings=(),
                  status=status, fund_account_id="fa_1", mode="IMPS", trigger=PayoutTrigger.ADMIN,
                  requested_by="admin:usr_admin", created_at=created_at, updated_at=created_at)


def test_pending_payouts_are_counted_per_open_status_with_the_oldest_of_them(tables):
    client, names = tables
    made = [_payout(PayoutStatus.PENDING, NOW - timedelta(hours=1)),
            _payout(PayoutStatus.PENDING, NOW - timedelta(hours=30)),
            _payout(PayoutStatus.PROCESSING, NOW - timedelta(hours=6)),
            _payout(PayoutStatus.COMPLETED, NOW - timedelta(days=9)),
            _payout(PayoutStatus.FAILED, NOW - timedelta(days=8))]
    for payout in made:
        client.put_item(TableName=names.table_name("payouts"), Item=_payout_item(payout))

    backlog = services.backlog(DynamoDbPayoutCensus(client, names.table_name("payouts")), sorted(OPEN_PAYOUTS))

    assert backlog.by_status == {"pending": 2, "processing": 1}
    assert backlog.oldest_at == NOW - timedelta(hours=30)
    assert backlog.oldest_age(NOW) == timedelta(hours=30)


def _refund(status: RefundStatus, created_at: datetime) -> RefundRequest:
    return RefundRequest(refund_id=f"rfd_{uuid.uuid4().hex}", order_id=f"ord_{uuid.uuid4().hex}",
                         customer_id="usr_shopper", amount=Paise(49_900), reason=RefundReason.DAMAGED, note="",
                         status=status, requested_by="customer:usr_shopper", created_at=created_at,
                         updated_at=created_at)


def test_pending_refunds_are_the_unsettled_ones_with_the_oldest_of_them(tables):
    client, names = tables
    for status, hours in ((RefundStatus.REQUESTED, 2), (RefundStatus.APPROVED, 1), (RefundStatus.PROCESSING, 5),
                          (RefundStatus.FAILED, 50), (RefundStatus.COMPLETED, 90), (RefundStatus.REJECTED, 80)):
        client.put_item(TableName=names.table_name("refunds"), Item=_refund_item(_refund(status, NOW - timedelta(hours=hours))))

    book = DynamoDbRefundBook(client, names.table_name("refunds"), None)
    backlog = services.backlog(book, sorted(OPEN_REFUNDS))

    assert backlog.by_status == {"approved": 1, "failed": 1, "processing": 1, "requested": 1}
    assert backlog.oldest_at == NOW - timedelta(hours=50)


def test_nothing_pending_has_no_oldest(tables):
    client, names = tables

    backlog = services.backlog(DynamoDbPayoutCensus(client, names.table_name("payouts")), sorted(OPEN_PAYOUTS))

    assert backlog.count == 0 and backlog.oldest_at is None
