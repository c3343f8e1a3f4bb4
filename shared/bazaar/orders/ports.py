from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bazaar.orders.domain import Order, Transition


@dataclass(frozen=True)
class LockCensus:
    active: int  # orders holding locks that have not expired
    expired_unreleased: int  # orders whose locks expired but were not given back yet
    oldest_expired_at: datetime | None


class OrderBook(Protocol):
    def place(self, order: Order, hold_cap: int) -> None:
        """Writes a new PAYMENT_PENDING order and locks its lines' stock, all or nothing.
        Raises OutOfStock (naming the short variants) or LockLimitReached."""

    def get(self, order_id: str) -> Order | None:
        """The order with its history."""

    def apply(self, transition: Transition) -> Order:
        """Writes the transition, its history entry and its stock moves in one transaction.
        Raises StaleOrder if the order is no longer as read, OutOfStock if a move is short."""

    def for_customer(self, customer_id: str, limit: int, after: dict | None) -> tuple[list[Order], dict | None]: ...

    def holding_expired_locks(self, now: datetime, limit: int) -> list[Order]:
        """Orders still holding locks that expired by `now`, oldest lock first."""

    def lock_census(self, now: datetime) -> LockCensus: ...
