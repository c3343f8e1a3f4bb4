from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bazaar.orders.domain import Order, Transition
from bazaar.payments.domain import PaymentRecord

if TYPE_CHECKING:
    from bazaar.platform.idempotency import KeyClaim


@dataclass(frozen=True)
class LockCensus:
    active: int  # orders holding locks that have not expired
    expired_unreleased: int  # orders whose locks expired but were not given back yet
    oldest_expired_at: datetime | None


class OrderBook(Protocol):
    def place(self, order: Order, hold_cap: int, actor: str = "system", *,
              payment: PaymentRecord | None = None, key: KeyClaim | None = None) -> None:
        """Writes a new PAYMENT_PENDING order, its OrderPlaced event and locks its lines' stock,
        with the order's payment record and the request's Idempotency-Key claim if given, all
        or nothing, in one transaction.
        Raises KeyTaken (the key has a record: checked first), OutOfStock (naming the short
        variants) or LockLimitReached."""

    def get(self, order_id: str) -> Order | None:
        """The order with its history."""

    def apply(self, transition: Transition) -> Order:
        """Writes the transition, its history entry, its event and its stock moves in one
        transaction.
        Raises StaleOrder if the order is no longer as read, OutOfStock if a move is short."""

    def for_customer(self, customer_id: str, limit: int, after: dict | None) -> tuple[list[Order], dict | None]: ...

    def holding_expired_locks(self, now: datetime, limit: int) -> list[Order]:
        """Orders still holding locks that expired by `now`, oldest lock first."""

    def lock_census(self, now: datetime) -> LockCensus: ...


class AftersaleBook(OrderBook, Protocol):
    """The order book as the after-PAID use cases need it (bazaar.orders.aftersale)."""

    def apply(self, transition: Transition, amendment=None) -> Order:
        """As OrderBook.apply, plus the amendment's writes in the same transaction. Raises
        PaymentAlreadySettled when the amendment closes the payment record and somebody else
        closed it first (nothing was written)."""

    def order_for_awb(self, awb: str) -> str | None: ...

    def needing_attention(self, limit: int) -> list[Order]:
        """Orders in SHIPMENT_FAILED (what admin diagnostics lists)."""

    def open_refunds(self, limit: int) -> list[tuple[str, str]]:
        """(order id, merchant refund id) of refunds the provider has not settled yet."""


class ShipmentJobs(Protocol):
    """The `shipments` queue: one job per paid order to hand to the courier."""

    def enqueue(self, order_id: str) -> None: ...
