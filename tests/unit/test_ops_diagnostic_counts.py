"""Diagnostics' counts (bazaar.ops.services): the last 24 hours' orders by status and the backlogs
of payouts and refunds not settled yet, against in-memory stand-ins for the status indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bazaar.ops import services
from bazaar.ops.domain import Backlog
from bazaar.ops.schemas import BacklogOut, OrderCountsOut
from bazaar.orders.domain import OrderStatus
from bazaar.payouts.domain import OPEN as OPEN_PAYOUTS
from bazaar.refunds.domain import OPEN as OPEN_REFUNDS

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
MS = timedelta(milliseconds=1)


class OrdersByStatus:
    """The `by-status` index in miniature: one entry per order (a change overwrites it), its
    status and when it last changed; `changed_since` answers what the index's key condition does."""

    def __init__(self):
        self.orders: dict[str, tuple[str, datetime]] = {}
        self.asked: list[tuple[str, datetime]] = []

    def change(self, order_id: str, status: OrderStatus, at: datetime) -> None:
        self.orders[order_id] = (status.value, at)

    def changed_since(self, status, since: datetime) -> int:
        self.asked.append((str(status), since))
        return sum(1 for s, at in self.orders.values() if s == status and at >= since)


class InStatus:
    def __init__(self, items: dict[str, list[datetime]]):
        self.items = items

    def backlog(self, status) -> tuple[int, datetime | None]:
        made = self.items.get(str(status), [])
        return len(made), min(made, default=None)


def test_every_status_is_asked_about_with_the_same_24_hour_window_and_listed_even_at_zero():
    orders = OrdersByStatus()

    counts = services.order_counts(orders, list(OrderStatus), NOW)

    assert sorted(s for s, _ in orders.asked) == sorted(s.value for s in OrderStatus)
    assert {since for _, since in orders.asked} == {NOW - DAY}
    assert counts.by_status == {s.value: 0 for s in OrderStatus} and counts.total == 0
    assert (counts.since, counts.until) == (NOW - DAY, NOW)


def test_the_window_includes_its_first_instant_and_now_and_nothing_older():
    orders = OrdersByStatus()
    orders.change("ord_at_start", OrderStatus.PAID, NOW - DAY)
    orders.change("ord_just_before", OrderStatus.PAID, NOW - DAY - MS)
    orders.change("ord_now", OrderStatus.CANCELLED, NOW)
    orders.change("ord_last_week", OrderStatus.DELIVERED, NOW - 7 * DAY)

    counts = services.order_counts(orders, list(OrderStatus), NOW)

    assert counts.by_status["PAID"] == 1 and counts.by_status["CANCELLED"] == 1
    assert counts.by_status["DELIVERED"] == 0 and counts.total == 2


def test_an_order_changed_many_times_counts_once_in_the_status_it_is_in_now():
    orders = OrdersByStatus()
    for minutes, status in enumerate((OrderStatus.PAYMENT_PENDING, OrderStatus.PAID, OrderStatus.SHIPMENT_CREATED)):
        orders.change("ord_busy", status, NOW - timedelta(hours=3) + timedelta(minutes=minutes))
    # The same change delivered twice (a retried write, a redelivered event) is the same item again.
    orders.change("ord_busy", OrderStatus.SHIPMENT_CREATED, NOW - timedelta(hours=3) + timedelta(minutes=2))

    counts = services.order_counts(orders, list(OrderStatus), NOW)

    assert counts.total == 1 and counts.by_status["SHIPMENT_CREATED"] == 1
    assert counts.by_status["PAID"] == counts.by_status["PAYMENT_PENDING"] == 0


def test_an_older_order_that_changed_in_the_window_counts_and_a_shorter_window_leaves_it_out():
    orders = OrdersByStatus()
    orders.change("ord_old_but_delivered_today", OrderStatus.DELIVERED, NOW - timedelta(hours=2))

    assert services.order_counts(orders, list(OrderStatus), NOW).by_status["DELIVERED"] == 1
    assert services.order_counts(orders, list(OrderStatus), NOW, timedelta(hours=1)).by_status["DELIVERED"] == 0


def test_the_order_counts_answer_carries_the_window_and_the_total():
    orders = OrdersByStatus()
    orders.change("ord_1", OrderStatus.PAID, NOW - timedelta(hours=1))
    orders.change("ord_2", OrderStatus.EXPIRED, NOW - timedelta(hours=23))

    out = OrderCountsOut.of(services.order_counts(orders, list(OrderStatus), NOW)).model_dump()

    assert out["total"] == 2 and out["since"] == NOW - DAY and out["until"] == NOW
    assert len(out["by_status"]) == len(OrderStatus)


def test_a_backlog_sums_its_statuses_and_its_oldest_is_the_oldest_of_any():
    made = {"pending": [NOW - timedelta(hours=5), NOW - timedelta(minutes=3)], "processing": [NOW - timedelta(days=2)],
            "completed": [NOW - timedelta(days=30)]}

    backlog = services.backlog(InStatus(made), sorted(OPEN_PAYOUTS))

    assert backlog.by_status == {"pending": 2, "processing": 1} and backlog.count == 3
    assert backlog.oldest_at == NOW - timedelta(days=2)
    out = BacklogOut.of(backlog, NOW)
    assert out.count == 3 and out.oldest_age_seconds == 2 * 24 * 3600 and out.oldest_created_at == NOW - timedelta(days=2)


def test_an_empty_backlog_has_no_oldest_and_no_age():
    backlog = services.backlog(InStatus({}), sorted(OPEN_REFUNDS))

    assert backlog.count == 0 and backlog.by_status == {s.value: 0 for s in OPEN_REFUNDS}
    out = BacklogOut.of(backlog, NOW)
    assert out.oldest_created_at is None and out.oldest_age_seconds is None


def test_an_oldest_item_from_a_clock_slightly_ahead_is_zero_seconds_old_not_negative():
    backlog = Backlog(by_status={"requested": 1}, oldest_at=NOW + timedelta(seconds=2))

    assert BacklogOut.of(backlog, NOW).oldest_age_seconds == 0
