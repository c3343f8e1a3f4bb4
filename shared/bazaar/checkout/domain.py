"""A shopper's cart as checkout sees it, and the rules for locking its stock. Pure Python."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bazaar.platform.errors import BazaarError

MAX_DISTINCT_VARIANTS = 25  # a transaction holds at most 100 items; this leaves room for the rest


@dataclass(frozen=True)
class CartLine:
    product_id: str
    variant_id: str
    quantity: int


def merge_lines(lines: tuple[CartLine, ...]) -> tuple[CartLine, ...]:
    """Duplicate lines for one variant become one line, so a variant is locked once, with the
    total quantity (two updates of one item in one transaction would be refused anyway)."""
    merged: dict[tuple[str, str], int] = {}
    for line in lines:
        key = (line.product_id, line.variant_id)
        merged[key] = merged.get(key, 0) + line.quantity
    if len(merged) > MAX_DISTINCT_VARIANTS:
        raise BazaarError(f"A cart may hold at most {MAX_DISTINCT_VARIANTS} different variants.",
                          code="VALIDATION_FAILED", details=[{"field": "items", "issue": "too many variants"}])
    return tuple(CartLine(p, v, q) for (p, v), q in merged.items())


@dataclass(frozen=True)
class LockPolicy:
    expiry: timedelta  # STOCK_LOCK_EXPIRY_MINUTES
    hold_cap: int  # MAX_LOCKED_UNITS_PER_CUSTOMER

    def expires_at(self, now: datetime) -> datetime:
        return now + self.expiry


@dataclass(frozen=True)
class LockPolicies:
    """Which lock policy a customer's checkout takes: the standard one, or (for customers in the
    `hold_stock_for_payment_timeout` rollout) one that holds the stock as long as the payment can
    still succeed, so a late payment never finds its stock released."""

    standard: LockPolicy
    for_payment_timeout: LockPolicy
    holds_for_payment: Callable[[str], bool]  # the flag's value for a customer id

    def for_customer(self, customer_id: str) -> LockPolicy:
        return self.for_payment_timeout if self.holds_for_payment(customer_id) else self.standard


class UnknownItem(BazaarError):
    code = "VALIDATION_FAILED"

    def __init__(self, positions: list[int]) -> None:
        super().__init__(
            "Some items name a product or variant that does not exist.",
            details=[{"field": f"items[{i}].variant_id", "issue": "no such product variant"} for i in positions],
        )


@dataclass(frozen=True)
class CleanupReport:
    orders_expired: int
    units_released: int
    lost_races: int  # already paid or cancelled when cleanup came to it: left as they were
    errors: int
    oldest_unreleased_at: datetime | None  # after the run; None when every expired lock is back
    # Locks expired by the run's moment and still held when it ended: 0 unless releases failed.
    expired_still_held: int = 0

    def unreleased_age_seconds(self, now: datetime) -> int:
        if self.oldest_unreleased_at is None:
            return 0
        return max(0, int((now - self.oldest_unreleased_at).total_seconds()))
