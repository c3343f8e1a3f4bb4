from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bazaar.orders.domain import Order


@dataclass(frozen=True)
class PaymentStart:
    """What the shopper needs to pay: where to send them (None while no provider is wired)."""

    redirect_url: str | None = None


class PaymentStarter(Protocol):
    """The seam for the payments issue: after the stock is locked and the order written,
    checkout asks this to start a payment for the order's total. PhonePe implements it there."""

    def start(self, order: Order) -> PaymentStart: ...
