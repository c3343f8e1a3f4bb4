from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bazaar.orders.domain import Order
from bazaar.payments.domain import PaymentRecord

if TYPE_CHECKING:
    from bazaar.platform.idempotency import KeyClaim


@dataclass(frozen=True)
class PaymentStart:
    """What the shopper needs to pay: where to send them. None when the provider opened the
    payment but its answer was lost (the order is then settled by reconciliation or expires)."""

    redirect_url: str | None = None
    provider: str | None = None
    merchant_order_id: str | None = None


class PaymentStarter(Protocol):
    """How checkout pays for an order (bazaar.checkout.adapters.payments): first the payment
    record, which checkout writes in the order's own transaction, then, once that committed, the
    provider is asked for the payment of the order's total. If `start` raises, checkout releases
    the order and its locks (PAYMENT_FAILED) and the Idempotency-Key before re-raising."""

    def record_for(self, order: Order, now: datetime) -> PaymentRecord:
        """The order's payment record, OPEN (not written: checkout writes it with the order)."""

    def start(self, order: Order, record: PaymentRecord) -> PaymentStart: ...


class RequestKeys(Protocol):
    """The Idempotency-Keys checkout claims in the order's transaction (bazaar.platform.idempotency)."""

    def release(self, claim: KeyClaim) -> None:
        """Frees a key whose request failed for good after its transaction committed (PhonePe
        refused or could not be reached), so a retry with it makes a new order."""
