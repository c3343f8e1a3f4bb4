from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bazaar.payments.domain import (
    CheckState, PaymentCreated, PaymentEvent, PaymentRecord, PaymentStatus, RefundStatus,
)


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


class PaymentRecords(Protocol):
    """Bazaar's record of each order's payment (bazaar.payments.domain.PaymentRecord). Every write
    is conditional, so two workers settling the same payment cannot both win."""

    def open(self, record: PaymentRecord) -> PaymentRecord:
        """Writes the record before PhonePe is called (so an unknown outcome is reconciled);
        if it exists already (a retried checkout), returns the stored one unchanged."""

    def get(self, order_id: str) -> PaymentRecord | None: ...

    def reschedule(self, record: PaymentRecord, next_check_at: datetime) -> None:
        """Moves an OPEN record's next status check (a no-op once it is settled)."""

    def settle(self, record: PaymentRecord, state: CheckState, note: str | None = None) -> bool:
        """Closes the record in `state` (it leaves reconciliation); False if it already was in
        that state (somebody else settled it first)."""

    def due(self, now: datetime, limit: int) -> list[PaymentRecord]:
        """OPEN records whose next check is due by `now`, earliest first."""

    def census(self, now: datetime, limit: int) -> PaymentCensus: ...


@dataclass(frozen=True)
class PaymentCensus:
    open: int  # payments PhonePe has not settled yet
    overdue: int  # of those, checks due but not yet made (reconciliation behind or failing)
    open_order_ids: tuple[str, ...]

