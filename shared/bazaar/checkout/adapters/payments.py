"""Checkout's PaymentStarter, implemented with PhonePe (v2 or v1, by PHONEPE_API_VERSION)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bazaar.checkout.ports import PaymentStart
from bazaar.orders.domain import Order
from bazaar.payments.domain import PaymentRecord, StatusCheckPlan
from bazaar.payments.ports import PaymentProvider, PaymentRecords
from bazaar.payments.services import PaymentLinks, new_payment_record, request_payment


class PhonePePayments:
    def __init__(self, provider: Callable[[], PaymentProvider], records: PaymentRecords, links: PaymentLinks,
                 plan: StatusCheckPlan, on_started: Callable[[Order], None]):
        self._provider, self._records, self._links = provider, records, links
        self._plan, self._on_started = plan, on_started

    def record_for(self, order: Order, now: datetime) -> PaymentRecord:
        return new_payment_record(order.order_id, order.total.amount, self._provider().api_version, self._plan, now)

    def start(self, order: Order, record: PaymentRecord) -> PaymentStart:
        created = request_payment(record, self._provider(), self._records, self._links)
        self._on_started(order)
        # No redirect: PhonePe made the order but a timeout lost its answer (it hands the
        # redirect out once). The order resolves through reconciliation or expires.
        return PaymentStart(redirect_url=created.redirect_url, provider="phonepe",
                            merchant_order_id=created.merchant_order_id)
