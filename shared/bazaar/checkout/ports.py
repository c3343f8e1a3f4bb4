from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bazaar.orders.domain import Order


@dataclass(frozen=True)
class PaymentStart:
    """What the shopper needs to pay: where to send them. None when the provider opened the
    payment but its answer was lost (the order is then settled by reconciliation or expires)."""

    redirect_url: str | None = None
    provider: str | None = None
    merchant_order_id: str | None = None


class PaymentStarter(Protocol):
    """The seam for the payments issue: after the stock is locked and the order written,
    checkout asks this to start a payment for the order's total (bazaar.checkout.adapters.payments).
    If it raises, checkout releases the order and its locks (PAYMENT_FAILED) before re-raising."""

    def start(self, order: Order) -> PaymentStart: ...
