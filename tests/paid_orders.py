"""Paid orders for the shipping tests, made the way shoppers make them: checkout over HTTP (which
opens the PhonePe payment), the payment completed on the PhonePe sandbox, and Bazaar's own
webhook → payments worker path taking the order to PAID and queueing its shipment job on
`shipments`. Nothing is written or queued by the test itself."""

from __future__ import annotations

import time
import uuid

import requests

from tests.conftest import bearer
from tests.shop import checkout, create_product, new_account_token


class PaidOrders:
    """Makes paid orders on a running local stack (one product and customer per instance)."""

    def __init__(self, stack, customer: tuple[str, str] | None = None):
        """`customer`: (access token, user id) of the shopper who orders; a new one if None."""
        self.stack = stack
        self.seller, _ = new_account_token(stack, "seller")
        self.customer, self.customer_id = customer or new_account_token(stack, "customer")
        self.product = create_product(stack.url, self.seller, [1000], price_paise=49_900,
                                      title=f"Kettle {uuid.uuid4().hex[:6]}")

    def new(self, quantity: int = 2) -> dict:
        """A PAID order whose shipment job is queued; returns the order as checkout answered it."""
        return self.pay(self.checkout(quantity))

    def checkout(self, quantity: int = 2) -> dict:
        """An order awaiting payment, as checkout answered it."""
        response = checkout(self.stack.url, self.customer, [(self.product, 0, quantity)])
        assert response.status_code == 201, response.text
        return response.json()["order"]

    def pay(self, order: dict) -> dict:
        """Completes the order's payment on the PhonePe sandbox and waits until Bazaar applied it."""
        phonepe = self.stack.sandbox("phonepe")
        requests.post(f"{phonepe.url}/_sandbox/orders/{order['order_id']}/outcome", json={"outcome": "success"},
                      timeout=10).raise_for_status()
        deadline = time.monotonic() + 60
        while self.customer_view(order["order_id"])["status"] == "PAYMENT_PENDING" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.customer_view(order["order_id"])["status"] != "PAYMENT_PENDING", "the payment was never applied"
        return order

    def customer_view(self, order_id: str) -> dict:
        return requests.get(f"{self.stack.url}/v1/orders/{order_id}", headers=bearer(self.customer), timeout=30).json()

    def stop(self) -> None:
        """Nothing to stop: kept so fixtures can end every helper the same way."""
