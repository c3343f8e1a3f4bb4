"""Checkout's PaymentStarter, implemented with PhonePe (v2 or v1, by PHONEPE_API_VERSION)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bazaar.checkout.ports import PaymentStart
from bazaar.orders.domain import Order
from bazaar.payments.domain import StatusCheckPlan
from bazaar.payments.ports import PaymentProvider, PaymentRecords
from bazaar.payments.services import PaymentLinks, open_payment


class PhonePePayments:
    def __init__(self, provider: Callable[[], PaymentProvider], records: PaymentRecords, links: PaymentLinks,
                 plan: StatusCheckPlan, clock: Callable[[], datetime], on_started: Callable[[Order], None]):
        self._provider, self._records, self._links = provider, records, links
        self._plan, self._clock, self._on_started = plan, clock, on_started

    def start(self, order: Order) -> PaymentStart:
        created = open_payment(order.order_id, order.total.amount, self._provider(), self._records, self._links,
                               self._plan, self._clock())
        self._on_started(order)
        # No redirect: PhonePe made the order but a timeout lost its answer (it hands the
        # redirect out once). The order resolves through reconciliation or expires.
        return PaymentStart(redirect_url=created.redirect_url, provider="phonepe",
                            merchant_order_id=created.merchant_order_id)
