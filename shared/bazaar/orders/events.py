"""What happened to an order, as facts other parts of Bazaar react to. Pure Python.

Every change of an order's status emits exactly one event, named by the status it enters
(`EMITS`, read beside the transition table in bazaar.orders.domain). A history entry that keeps
the status emits one only when it is news in itself (a refund asked for). The event is written
in the same DynamoDB transaction as the change (the outbox), so a change and its event are one
fact: a cancelled transaction emits nothing, a committed one always has its event.

An event's id is made from the order and the order version the change created. A retried write
of the same change therefore carries the same id, and a consumer that keeps the ids it has acted
on acts once, however often the event is delivered.

Payloads are versioned (`schema_version`); a consumer reads the fields it knows and ignores the
rest, so fields may be added without a new version. Amounts are integer paise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from bazaar.platform.events import DomainEvent

SCHEMA_VERSION = 1


class OrderEventType(StrEnum):
    ORDER_PLACED = "OrderPlaced"
    ORDER_PAID = "OrderPaid"
    PAYMENT_FAILED = "PaymentFailed"
    ORDER_EXPIRED = "OrderExpired"
    ORDER_CANCELLED = "OrderCancelled"
    NEEDS_REFUND = "NeedsRefund"
    SHIPMENT_CREATED = "ShipmentCreated"
    SHIPMENT_FAILED = "ShipmentFailed"
    SHIPPED = "Shipped"
    IN_TRANSIT = "InTransit"
    OUT_FOR_DELIVERY = "OutForDelivery"
    DELIVERY_ATTEMPT_FAILED = "DeliveryAttemptFailed"
    DELIVERED = "Delivered"
    RETURNING_TO_SELLER = "ReturningToSeller"
    RETURNED_TO_SELLER = "ReturnedToSeller"
    SHIPMENT_LOST = "ShipmentLost"
    SHIPMENT_CANCELLED = "ShipmentCancelled"
    REFUND_REQUESTED = "RefundRequested"
    PARTIALLY_REFUNDED = "PartiallyRefunded"
    REFUNDED = "Refunded"


@dataclass(frozen=True)
class EventLine:
    product_id: str
    variant_id: str
    seller_id: str
    sku: str
    quantity: int
    unit_price_paise: int
    total_paise: int


@dataclass(frozen=True)
class OrderEvent(DomainEvent):
    described_as: ClassVar[str] = "an order event"
    identifiers: ClassVar[frozenset[str]] = frozenset({"event_id", "order_id", "customer_id", "actor", "to_status"})

    event_id: str
    event_type: OrderEventType
    order_id: str
    customer_id: str
    actor: str  # who caused it: "customer:<id>", "admin:<id>", "provider:phonepe", "system:<job>"
    occurred_at: datetime
    order_version: int  # the order's version this change created (1 for OrderPlaced)
    from_status: str | None
    to_status: str
    reason: str
    total_paise: int
    lines: tuple[EventLine, ...]
    # Facts particular to the event: the AWB of a shipment, the amount of a refund, ...
    facts: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def seller_ids(self) -> tuple[str, ...]:
        return tuple(sorted({line.seller_id for line in self.lines if line.seller_id}))


def event_id_for(order_id: str, order_version: int) -> str:
    """One event per order version: the same change, written again after a lost answer, has the
    same id."""
    return f"evt_{order_id.removeprefix('ord_')}_{order_version:06d}"
