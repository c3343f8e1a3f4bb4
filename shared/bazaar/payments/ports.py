from __future__ import annotations

from typing import Protocol

from bazaar.payments.domain import PaymentCreated, PaymentEvent, PaymentStatus, RefundStatus


class PaymentProvider(Protocol):
    """A payment gateway (PhonePe v2 or v1). Every method is safe to call again with the same
    ids: a retry after a timeout never creates a second payment or refund.

    Raises PaymentProviderUnavailable (retry later, same ids), PaymentProviderRejected (a
    definite refusal) or PaymentNotFound."""

    api_version: str

    def create_payment(
        self, merchant_order_id: str, amount_paise: int, redirect_url: str, callback_url: str
    ) -> PaymentCreated:
        """Opens a payment; `redirect_url` is where PhonePe sends the shopper back, `callback_url`
        where it calls us (v1 only: v2 webhooks go to the URL set on PhonePe's dashboard)."""

    def order_status(self, merchant_order_id: str) -> PaymentStatus: ...

    def refund(
        self, merchant_refund_id: str, merchant_order_id: str, amount_paise: int, callback_url: str
    ) -> RefundStatus: ...

    def refund_status(self, merchant_refund_id: str) -> RefundStatus: ...


class PaymentEventQueue(Protocol):
    def publish(self, event: PaymentEvent) -> None:
        """Hands a verified webhook to the worker (at least once)."""
