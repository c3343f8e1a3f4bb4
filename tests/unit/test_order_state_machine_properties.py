"""Stateful property test of the one order transition table (hypothesis): whatever sequence of
checkouts, payments, expiries, cancellations, shipments, scans and refunds happens to any number
of orders, every transition the table allows moves stock consistently with where the order's
units are, the variant's counters stay balanced and never negative, and a terminal order never
changes again."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bazaar.catalog.domain import StockMove
from bazaar.orders.domain import (
    HOLDS_LOCKS, TRANSITIONS, InvalidTransition, Order, OrderLine, OrderStatus, ShippingAddress, is_terminal,
)
from bazaar.money import Paise

AT = datetime(2026, 11, 23, tzinfo=UTC)
ADDRESS = ShippingAddress(name="Asha Rao", phone="9876543210", line1="12 MG Road", city="Pune",
                          state="Maharashtra", pincode="411001")
# Where an order's units are, given the stock moves applied to it so far.
NONE, LOCKED, SOLD = "none", "locked", "sold"
NEEDS = {StockMove.RELEASE: LOCKED, StockMove.SELL_LOCKED: LOCKED, StockMove.SELL_AVAILABLE: NONE}
AFTER = {StockMove.RELEASE: NONE, StockMove.SELL_LOCKED: SOLD, StockMove.SELL_AVAILABLE: SOLD}


def _line(quantity: int) -> OrderLine:
    return OrderLine(product_id="prd_1", variant_id="var_1", sku="SKU-1", title="Phone", unit_price=Paise(100),
                     quantity=quantity)


class OrdersAndStock(RuleBasedStateMachine):
    @initialize(received=st.integers(min_value=0, max_value=30))
    def receive_stock(self, received):
        self.available, self.locked, self.sold, self.received = received, 0, 0, received
        self.orders: list[Order] = []
        self.units_at: list[str] = []

    @rule(quantity=st.integers(min_value=1, max_value=5))
    def checkout(self, quantity):
        if self.available < quantity:
            return  # OUT_OF_STOCK: nothing locked
        self.available -= quantity
        self.locked += quantity
        order = Order(order_id=f"ord_{len(self.orders)}", customer_id="usr_1", status=OrderStatus.PAYMENT_PENDING,
                      lines=(_line(quantity),), shipping_address=ADDRESS, created_at=AT, updated_at=AT,
                      lock_expires_at=AT)
        assert order.holds_locks
        self.orders.append(order)
        self.units_at.append(LOCKED)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), to=st.sampled_from(list(OrderStatus)))
    def something_happens(self, data, to):
        index = data.draw(st.integers(min_value=0, max_value=len(self.orders) - 1))
        order = self.orders[index]
        try:
            change = order.transition(to, AT, "property test")
        except InvalidTransition:
            assert to not in TRANSITIONS.get(order.status, {})
            return
        assert not is_terminal(order.status)
        move, units = change.stock_move, order.units
        if move is not None:
            assert self.units_at[index] == NEEDS[move], (order.status, to, move, self.units_at[index])
            if move is StockMove.SELL_AVAILABLE and self.available < units:
                return  # the conditional write is refused; the caller then takes the next target
            self.available += {StockMove.RELEASE: units, StockMove.SELL_AVAILABLE: -units}.get(move, 0)
            self.locked -= units if move in (StockMove.RELEASE, StockMove.SELL_LOCKED) else 0
            self.sold += units if move in (StockMove.SELL_LOCKED, StockMove.SELL_AVAILABLE) else 0
            self.units_at[index] = AFTER[move]
        self.orders[index] = change.applied()

    @invariant()
    def stock_balances(self):
        if not hasattr(self, "received"):
            return
        assert min(self.available, self.locked, self.sold) >= 0
        assert self.available + self.locked + self.sold == self.received

    @invariant()
    def locks_are_held_exactly_by_orders_that_hold_them(self):
        if not hasattr(self, "orders"):
            return
        for order, units_at in zip(self.orders, self.units_at):
            assert (units_at == LOCKED) == (order.status in HOLDS_LOCKS), (order.status, units_at)
        assert self.locked == sum(o.units for o, u in zip(self.orders, self.units_at) if u == LOCKED)
        assert self.sold == sum(o.units for o, u in zip(self.orders, self.units_at) if u == SOLD)


OrdersAndStock.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestOrdersAndStock = OrdersAndStock.TestCase
