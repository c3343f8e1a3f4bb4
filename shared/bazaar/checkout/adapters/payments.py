from __future__ import annotations

from bazaar.checkout.ports import PaymentStart
from bazaar.orders.domain import Order


class NoPaymentProviderYet:
    """Until the payments issue wires PhonePe in: the order waits in PAYMENT_PENDING with no
    redirect, and its locks expire unless a payment is confirmed through confirm_payment."""

    def start(self, order: Order) -> PaymentStart:
        return PaymentStart(redirect_url=None)
