"""The checkout context's typed settings."""

from __future__ import annotations

from pydantic import Field

from bazaar.orders.settings import OrderBookSettings


class CheckoutSettings(OrderBookSettings):
    stock_lock_expiry_minutes: int = Field(alias="STOCK_LOCK_EXPIRY_MINUTES", ge=1, le=120)
    stock_cleanup_interval_minutes: int = Field(alias="STOCK_CLEANUP_INTERVAL_MINUTES", ge=1, le=60)
    max_locked_units_per_customer: int = Field(alias="MAX_LOCKED_UNITS_PER_CUSTOMER", default=20, ge=1, le=10000)
