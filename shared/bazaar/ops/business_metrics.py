"""The business's own figures, from order events: orders placed, paid and delivered, payment
successes and failures, revenue in paise. Pure Python: an event in, the figures it adds out.
Each event counts once (the consumer keeps the ids it has counted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bazaar.orders.events import OrderEvent, OrderEventType
from bazaar.platform.clock import Clock
from bazaar.platform.observability import logger, metrics

E = OrderEventType


@dataclass(frozen=True)
class Figure:
    name: str
    value: int
    unit: str = "Count"


_COUNTED: dict[OrderEventType, str] = {
    E.ORDER_PLACED: "OrdersPlaced",
    E.ORDER_PAID: "OrdersPaid",
    E.PAYMENT_FAILED: "OrderPaymentsFailed",
    E.ORDER_EXPIRED: "OrdersExpired",
    E.DELIVERED: "OrdersDelivered",
    E.REFUNDED: "OrdersRefunded",
}

# The event types the metrics consumer takes (the description routes exactly these).
MEASURED_EVENTS = tuple(sorted({t.value for t in _COUNTED} | {E.PARTIALLY_REFUNDED.value}))


def figures_for(event: OrderEvent) -> list[Figure]:
    figures = [Figure(_COUNTED[event.event_type], 1)] if event.event_type in _COUNTED else []
    if event.event_type is E.ORDER_PAID:
        figures.append(Figure("RevenuePaise", event.total_paise, "None"))
    if event.event_type in (E.PARTIALLY_REFUNDED, E.REFUNDED) and "amount_paise" in event.facts:
        figures.append(Figure("RefundedPaise", int(event.facts["amount_paise"]), "None"))
    return figures


class Inbox(Protocol):
    def first_time(self, event_id: str, at: datetime) -> bool: ...


def count_once(event: OrderEvent, inbox: Inbox, clock: Clock) -> list[Figure]:
    """Emits the event's figures unless it was counted before. A crash between recording the event
    and flushing the figures loses them rather than counting them twice: a dashboard may be one
    order short, never one order long."""
    if not inbox.first_time(event.event_id, clock()):
        logger.info("order event already counted", extra={"event_id": event.event_id})
        return []
    figures = figures_for(event)
    for figure in figures:
        metrics.add_metric(name=figure.name, unit=figure.unit, value=figure.value)
    return figures
