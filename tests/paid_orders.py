"""Paid orders for the issue-7 tests, made through the real use cases until checkout starts PhonePe
payments itself (the payments↔orders work): the order is checked out over HTTP; this function,
run in the local runtime with the environment the description would give it (as
infra/local/accounts.py does for seeding), opens a PhonePe payment for it on the sandbox; the test
completes that payment on the sandbox's control API; then this function asks PhonePe's status API,
applies the confirmed payment with checkout's `confirm_payment` and queues the shipment job on
`shipments` exactly as the payments worker does on PAID. No row is written by hand."""

from __future__ import annotations

import os
import uuid

import requests

from infra.description.contexts.payments import PHONEPE_SETTINGS
from infra.description.model import Access, Function
from infra.local.runtime import FunctionRuntime
from tests.conftest import bearer
from tests.shop import checkout, create_product, new_account_token

FUNCTION = Function(
    name="test-paid-orders",
    handler="tests.paid_orders.handler",
    description="Tests only: pays an order on the PhonePe sandbox and applies the confirmed payment.",
    timeout_seconds=30,
    environment=PHONEPE_SETTINGS,
    tables={"orders": Access.READ_WRITE, "stock": Access.READ_WRITE},
    secrets=("phonepe",),
    sends_to=("shipments",),
)


def handler(event, context):
    from bazaar.checkout.services import confirm_payment
    from bazaar.money import Paise
    from bazaar.orders.adapters.dynamodb import DynamoDbOrderBook
    from bazaar.orders.fulfilment import merchant_order_id
    from bazaar.payments.adapters import phonepe_provider
    from bazaar.payments.config import PhonePeCredentials, load_phonepe_settings
    from bazaar.payments.domain import PaymentState
    from bazaar.platform import aws
    from bazaar.platform.clock import utc_now
    from bazaar.platform.secrets import load_secret
    from bazaar.platform.settings import load_settings
    from bazaar.shipping.adapters.sqs import SqsShipmentJobs

    settings = load_settings(os.environ)
    orders = DynamoDbOrderBook(aws.client("dynamodb"), settings.table("orders"), settings.table("stock"))
    phonepe = phonepe_provider(load_phonepe_settings(os.environ), load_secret(settings, "phonepe", PhonePeCredentials))
    order = orders.get(event["order_id"])
    if event["action"] == "pay":
        created = phonepe.create_payment(merchant_order_id(order), order.total.amount,
                                         "https://bazaar.example/return", "https://unused.example")
        return {"merchant_order_id": created.merchant_order_id}
    if event["action"] == "confirm":
        status = phonepe.order_status(merchant_order_id(order))
        if status.state != PaymentState.COMPLETED:
            return {"status": order.status.value, "payment": status.state.value}
        paid = confirm_payment(order.order_id, Paise(status.amount_paise), orders, utc_now())
        if paid.status.value == "PAID":
            SqsShipmentJobs(aws.client("sqs"), settings.queue_url("shipments")).enqueue(paid.order_id)
        return {"status": paid.status.value}
    raise ValueError(event["action"])


class PaidOrders:
    """Makes paid orders on a running local stack (one product and customer per instance)."""

    def __init__(self, stack):
        self.stack = stack
        self.runtime = FunctionRuntime(FUNCTION, stack.function_environment(FUNCTION), 1)
        self.seller, _ = new_account_token(stack, "seller")
        self.customer, self.customer_id = new_account_token(stack, "customer")
        self.product = create_product(stack.url, self.seller, [1000], price_paise=49_900,
                                      title=f"Kettle {uuid.uuid4().hex[:6]}")

    def _call(self, event: dict) -> dict:
        result = self.runtime.invoke(event)
        if result.failed:
            raise RuntimeError(result.error)
        return result.payload

    def new(self, quantity: int = 2) -> dict:
        """A PAID order whose shipment job is queued; returns the order as checkout answered it."""
        response = checkout(self.stack.url, self.customer, [(self.product, 0, quantity)])
        assert response.status_code == 201, response.text
        order = response.json()["order"] if "order" in response.json() else response.json()
        order_id = order["order_id"]
        self._call({"action": "pay", "order_id": order_id})
        phonepe = self.stack.sandbox("phonepe")
        requests.post(f"{phonepe.url}/_sandbox/orders/{order_id}/outcome", json={"outcome": "success"},
                      timeout=10).raise_for_status()
        assert self._call({"action": "confirm", "order_id": order_id}) == {"status": "PAID"}
        return order

    def customer_view(self, order_id: str) -> dict:
        return requests.get(f"{self.stack.url}/v1/orders/{order_id}", headers=bearer(self.customer), timeout=30).json()

    def stop(self) -> None:
        self.runtime.stop()
