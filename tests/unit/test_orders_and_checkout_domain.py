"""The order state machine, cart merging and text sanitising: pure domain, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bazaar.catalog.domain import StockMove, plain_text
from bazaar.checkout.domain import CartLine, LockPolicy, merge_lines
from bazaar.money import Paise
from bazaar.orders.domain import (
    TRANSITIONS,
    HistoryEntry,
    InvalidTransition,
    Order,
    OrderLine,
    OrderStatus,
    ShippingAddress,
    is_terminal,
    payment_targets,
)

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
S = OrderStatus


def _order(status: OrderStatus) -> Order:
    return Order("ord_1", "cus_1", status, (OrderLine("prd_1", "var_1", "SKU", "T", Paise(100), 2),),
                 ShippingAddress("A", "9876543210", "l1", "Pune", "MH", "411001"), NOW, NOW,
                 NOW + timedelta(minutes=15), history=(HistoryEntry(NOW, None, S.PAYMENT_PENDING, "x"),))


def test_every_status_has_a_row_and_targets_are_known_statuses():
    assert set(TRANSITIONS) == set(OrderStatus)
    assert all(set(row) <= set(OrderStatus) for row in TRANSITIONS.values())


@pytest.mark.parametrize("terminal", [S.REFUNDED])
def test_terminal_states_never_regress(terminal):
    assert is_terminal(terminal)
    for target in OrderStatus:
        with pytest.raises(InvalidTransition):
            _order(terminal).transition(target, NOW, "late event")


def test_leaving_payment_pending_releases_or_sells_the_locks():
    pending = _order(S.PAYMENT_PENDING)
    assert pending.transition(S.PAID, NOW, "p").stock_move == StockMove.SELL_LOCKED
    for released in (S.EXPIRED, S.CANCELLED, S.PAYMENT_FAILED):
        transition = pending.transition(released, NOW, "r")
        assert transition.stock_move == StockMove.RELEASE and transition.releases_hold
    applied = pending.transition(S.PAID, NOW, "p").applied()
    assert applied.status == S.PAID and applied.version == 2 and applied.history[-1].from_status == S.PAYMENT_PENDING


def test_a_confirmed_payment_goes_where_the_table_allows():
    assert payment_targets(_order(S.PAYMENT_PENDING)) == (S.PAID,)
    assert payment_targets(_order(S.EXPIRED)) == (S.PAID, S.NEEDS_REFUND)
    assert payment_targets(_order(S.CANCELLED)) == (S.NEEDS_REFUND,)
    assert payment_targets(_order(S.PAID)) == ()  # a duplicate confirmation changes nothing
    assert _order(S.EXPIRED).transition(S.PAID, NOW, "late").stock_move == StockMove.SELL_AVAILABLE


def test_order_total_is_paise():
    assert _order(S.PAID).total == Paise(200)


def test_duplicate_cart_lines_merge_into_one():
    merged = merge_lines((CartLine("p", "v1", 1), CartLine("p", "v2", 2), CartLine("p", "v1", 3)))
    assert merged == (CartLine("p", "v1", 4), CartLine("p", "v2", 2))


def test_lock_policy_expiry():
    assert LockPolicy(timedelta(minutes=15), 20).expires_at(NOW) == NOW + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<script>alert(1)</script>Phone", "Phone"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "scriptalert(1)/script"),
        ("<img src=x onerror=alert(1)>Nice", "Nice"),
        ("a\u202eb\u200bc  d", "abc d"),  # bidi override and zero-width space go
        ("5 &amp; 6", "5 & 6"),
    ],
)
def test_plain_text_keeps_no_markup(raw, clean):
    assert plain_text(raw) == clean
