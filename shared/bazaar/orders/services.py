"""Use cases on orders: a customer's list, one order, cancelling, and the one way any status
change is made (read, decide through the transition table, write conditionally, re-read if
somebody else changed the order first)."""

from __future__ import annotations

from collections.abc import Callable

from bazaar.orders.domain import InvalidTransition, Order, OrderNotFound, OrderStatus, StaleOrder, Transition
from bazaar.orders.aftersale import Change
from bazaar.orders.ports import AftersaleBook, OrderBook
from bazaar.platform.clock import Clock
from bazaar.platform.errors import Conflict
from bazaar.platform.observability import logger

ATTEMPTS = 4


def change_status(orders: OrderBook, order_id: str, decide: Callable[[Order], Transition | None]) -> Order:
    """`decide` sees the current order and returns the transition to make, or None when the order
    is already where the caller wants it (a repeat changes nothing)."""
    for _ in range(ATTEMPTS):
        order = orders.get(order_id)
        if order is None:
            raise OrderNotFound()
        try:
            transition = decide(order)
        except InvalidTransition as refused:
            logger.warning("order transition refused", extra={
                "order_id": order_id, "from_status": refused.current.value, "to_status": refused.wanted.value,
                "reason": refused.message})
            raise
        if transition is None:
            return order
        try:
            return orders.apply(transition)
        except StaleOrder:
            continue  # somebody changed it first: decide again on what it is now
    raise Conflict("The order kept changing while we tried to update it; try again.")


def apply_change(orders: AftersaleBook, order_id: str, decide: Callable[[Order], Change | None]) -> Order:
    """As change_status, for changes that write more than the transition (an Amendment)."""
    for _ in range(ATTEMPTS):
        order = orders.get(order_id)
        if order is None:
            raise OrderNotFound()
        change = decide(order)
        if change is None:
            return order
        try:
            return orders.apply(change.transition, change.amendment)
        except StaleOrder:
            continue
    raise Conflict("The order kept changing while we tried to update it; try again.")


def view_order(order_id: str, viewer_id: str, is_admin: bool, orders: OrderBook) -> Order:
    order = orders.get(order_id)
    # Somebody else's order is reported exactly like a missing one.
    if order is None or not order.visible_to(viewer_id, is_admin):
        raise OrderNotFound()
    return order


def order_events(order_id: str, viewer_id: str, is_admin: bool, orders: OrderBook):
    """The order's history, oldest first (entries older than the retention have expired)."""
    return view_order(order_id, viewer_id, is_admin, orders).history


def list_orders(customer_id: str, orders: OrderBook, limit: int, after: dict | None):
    return orders.for_customer(customer_id, limit, after)


def cancel_order(order_id: str, customer_id: str, orders: OrderBook, clock: Clock) -> Order:
    def decide(order: Order) -> Transition | None:
        if order.customer_id != customer_id:
            raise OrderNotFound()
        if order.status == OrderStatus.CANCELLED:
            return None
        return order.transition(OrderStatus.CANCELLED, clock(), "cancelled by the customer",
                                actor=f"customer:{customer_id}")

    return change_status(orders, order_id, decide)
