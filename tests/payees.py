"""Payees for the payouts tests (their stack is tests/e2e/conftest.py's `payouts_stack`): sellers
who sell, deliver and are paid through the RazorpayX sandbox, the sandbox's control API, and the
ledger's balance check."""

from __future__ import annotations

import requests

from tests.conftest import bearer
from tests.paid_orders import PaidOrders
from tests.waiting import queues_drained, until

PRICE = 49_900
RATES = {"PLATFORM_FEE_BPS": 1000, "GATEWAY_FEE_BPS": 200, "GST_TCS_BPS": 50, "INCOME_TAX_TDS_BPS": 10}


class Control:
    def __init__(self, url: str):
        self.url = url

    def post(self, path: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/_sandbox/{path}", json=body or {}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def state(self, **params: str) -> dict:
        response = requests.get(f"{self.url}/_sandbox/state", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def payouts(self, reference_id: str) -> list[dict]:
        return self.state(reference_id=reference_id)["payouts"]


def expected_net(gross: int) -> int:
    deductions = [(gross * RATES[k] + 5000) // 10000 for k in RATES]
    return gross - sum(deductions)


class Seller:
    """A seller with one product, paid out through the sandbox, and a shopper buying it."""

    def __init__(self, stack, admin: str):
        self.stack, self.api, self.admin = stack, stack.url, admin
        self.shop = PaidOrders(stack)
        self.token = self.shop.seller
        self.user_id = requests.get(f"{self.api}/v1/me", headers=bearer(self.token), timeout=30).json()["user_id"]

    def delivered_order(self, quantity: int = 1) -> dict:
        order = self.shop.new(quantity)
        until(lambda: self.shop.customer_view(order["order_id"])["status"] == "SHIPMENT_CREATED", 90)
        delivered = self.admin_post(f"/v1/admin/orders/{order['order_id']}/mark-delivered",
                                    {"reason": "signed for at the door"})
        assert delivered.status_code == 200, delivered.text
        return order

    def settle(self) -> None:
        """The return window has passed: the Delivered event is followed, then the schedule runs."""
        self.stack.wait_for_streams()
        until(lambda: queues_drained(self.stack, "payout-order-events"), 60)
        run = requests.post(f"{self.api}/_local/schedules/payouts-settlement/run", timeout=120)
        assert run.status_code == 200, run.text

    def register_account(self) -> dict:
        response = requests.put(f"{self.api}/v1/seller/payout-account", headers=bearer(self.token), timeout=30,
                                json={"kind": "bank_account", "holder_name": "Asha Traders",
                                      "ifsc": "HDFC0001234", "account_number": "50100123456789"})
        assert response.status_code == 200, response.text
        return response.json()

    def earnings(self) -> dict:
        response = requests.get(f"{self.api}/v1/seller/earnings", headers=bearer(self.token), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def payouts(self) -> list[dict]:
        return requests.get(f"{self.api}/v1/seller/payouts", headers=bearer(self.token), timeout=30).json()["items"]

    def pay_now(self) -> requests.Response:
        return self.admin_post(f"/v1/admin/payees/{self.user_id}/payouts", {"role": "seller", "reason": "weekly run"})

    def admin_post(self, path: str, body: dict, **headers) -> requests.Response:
        return requests.post(f"{self.api}{path}", json=body, headers={**bearer(self.admin), **headers}, timeout=60)

    def admin_refund_id(self, order_id: str) -> str | None:
        """The merchant refund id of the order's refund, once the refund workflow has asked PhonePe."""
        order = requests.get(f"{self.api}/v1/admin/orders/{order_id}", headers=bearer(self.admin), timeout=30).json()
        return (order["refunds"] or [{}])[0].get("merchant_refund_id")

    def balance(self) -> dict:
        response = requests.get(f"{self.api}/v1/admin/payees/{self.user_id}/balance", params={"role": "seller"},
                                headers=bearer(self.admin), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def payout_settles(self, payout_id: str, status: str = "completed") -> dict:
        def settled():
            found = [p for p in self.payouts() if p["payout_id"] == payout_id]
            return found[0] if found and found[0]["status"] == status else None
        return until(settled, 60)


def assert_balanced(balance: dict, *, clawback_pending: bool = False) -> None:
    assert balance["earned_paise"] == balance["paid_out_paise"] + balance["in_flight_paise"] + balance["available_paise"]
    if not clawback_pending:
        assert balance["available_paise"] >= 0
