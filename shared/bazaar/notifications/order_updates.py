"""What a shopper is told when their order changes: one feed entry per order event that is
news to them. Pure Python: an order event in, a notification (or nothing) out.

The notification's id is made from the event's id, so a redelivered event finds its
notification already in the feed and adds nothing."""

from __future__ import annotations

from collections.abc import Callable

from bazaar.money import Paise
from bazaar.notifications.domain import Notification, NotificationKind, announcing
from bazaar.orders.events import OrderEvent, OrderEventType

E = OrderEventType
K = NotificationKind


def rupees(paise: int) -> str:
    """12345 -> '₹123.45', exactly (never through a float)."""
    return f"₹{Paise(paise).to_rupees_string()}"


_Message = Callable[[OrderEvent], tuple[str, str]]

_MESSAGES: dict[OrderEventType, tuple[NotificationKind, _Message]] = {
    E.ORDER_PAID: (K.ORDER_PAID, lambda e: (
        "Payment received", f"We received {rupees(e.total_paise)} for order {e.order_id}. We'll ship it soon.")),
    E.PAYMENT_FAILED: (K.PAYMENT_FAILED, lambda e: (
        "Payment failed", f"The payment for order {e.order_id} did not go through; nothing was charged for it.")),
    E.ORDER_EXPIRED: (K.ORDER_EXPIRED, lambda e: (
        "Order expired", f"Order {e.order_id} was not paid in time, so its items were released.")),
    E.SHIPMENT_CREATED: (K.ORDER_SHIPMENT_BOOKED, lambda e: (
        "Shipment booked", f"Order {e.order_id} is packed for the courier"
        + (f" (AWB {e.facts['awb']})." if e.facts.get("awb") else "."))),
    E.SHIPPED: (K.ORDER_SHIPPED, lambda e: ("Order shipped", f"Order {e.order_id} is on its way.")),
    E.DELIVERED: (K.ORDER_DELIVERED, lambda e: ("Order delivered", f"Order {e.order_id} was delivered.")),
    E.PARTIALLY_REFUNDED: (K.ORDER_REFUNDED, lambda e: (
        "Refund processed", f"{rupees(int(e.facts.get('amount_paise', 0)))} of order {e.order_id} was refunded.")),
    E.REFUNDED: (K.ORDER_REFUNDED, lambda e: (
        "Refund processed", f"Order {e.order_id} was refunded in full.")),
}

# The event types the notifications consumer takes (the description routes exactly these).
NOTIFIED_EVENTS = tuple(sorted(t.value for t in _MESSAGES))


def notification_for(event: OrderEvent) -> Notification | None:
    """The shopper's notification for this event; None if it is not news to them."""
    message = _MESSAGES.get(event.event_type)
    if message is None:
        return None
    kind, text = message
    title, body = text(event)
    return announcing(event.event_id, event.customer_id, kind, title, body, event.occurred_at, facts=_facts(event))


def _facts(event: OrderEvent) -> dict[str, object]:
    """What the templates show: the order, the amount it is about (a partial refund's own), the AWB."""
    amount = event.facts.get("amount_paise") if event.event_type is E.PARTIALLY_REFUNDED else event.total_paise
    return {"order_id": event.order_id, "amount_paise": int(amount or 0), "awb": str(event.facts.get("awb") or "")}
