"""Admin diagnostics over HTTP on a stack of their own (the payouts stack: its return window is 0
days, so a delivered order can be paid out at once): orders placed, paid, delivered and cancelled
the way shoppers and admins do it show in the last 24 hours' counts by status, a payout RazorpayX
holds for a low balance is pending with its age, and a refund waiting for an admin is too."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import requests

from tests.conftest import bearer, get
from tests.payees import Control, Seller
from tests.waiting import until


@pytest.fixture(scope="module")
def stack(payouts_stack):
    return payouts_stack


@pytest.fixture(scope="module")
def admin(payouts_admin) -> str:
    return payouts_admin


def _diagnostics(stack, admin: str) -> dict:
    response = get(f"{stack.url}/v1/admin/diagnostics", headers=bearer(admin))
    assert response.status_code == 200, response.text
    return response.json()


def _pending_payout(stack, admin: str, seller: Seller, razorpayx: Control) -> str:
    """A payout RazorpayX queues: its balance is one rupee, less than the payout."""
    seller.register_account()
    seller.delivered_order()
    seller.settle()
    razorpayx.post("balance", {"set": 100})
    made = seller.pay_now()
    assert made.status_code in (200, 201, 202), made.text
    payout_id = made.json()["payout_id"]

    def queued() -> bool:
        payout = requests.get(f"{stack.url}/v1/admin/payouts/{payout_id}", headers=bearer(admin), timeout=30).json()
        return payout["status"] == "pending" and payout["provider_status"] == "queued"

    until(queued, 60)
    return payout_id


def _refund_waiting_for_an_admin(stack, seller: Seller) -> str:
    """Asked after delivery, for more than the policy approves alone: an admin must decide."""
    order = seller.delivered_order(quantity=2)
    asked = requests.post(f"{stack.url}/v1/orders/{order['order_id']}/refunds", timeout=30,
                          json={"reason": "damaged", "note": "the lid is cracked"},
                          headers={**bearer(seller.shop.customer), "Idempotency-Key": uuid.uuid4().hex})
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "requested"
    return asked.json()["refund_id"]


def test_diagnostics_count_the_days_orders_by_status_and_show_what_waits_with_its_age(stack, admin, razorpayx):
    seller = Seller(stack, admin)
    # Given two delivered orders (one paid out while RazorpayX holds the payout, one whose shopper
    # asks for a refund), a paid order that ships, one left unpaid and one cancelled by its shopper.
    _pending_payout(stack, admin, seller, razorpayx)
    _refund_waiting_for_an_admin(stack, seller)
    shipping = seller.shop.new(1)
    seller.shop.checkout(1)
    cancelled = seller.shop.checkout(1)
    cancel = requests.post(f"{stack.url}/v1/orders/{cancelled['order_id']}/cancel",
                           headers=bearer(seller.shop.customer), timeout=30)
    assert cancel.status_code == 200, cancel.text
    until(lambda: seller.shop.customer_view(shipping["order_id"])["status"] == "SHIPMENT_CREATED", 90)

    # When an admin reads diagnostics
    body = _diagnostics(stack, admin)

    # Then this stack's orders are counted once each, in the status each is in now
    counts = body["orders_last_24h"]
    assert {status: n for status, n in counts["by_status"].items() if n} == {
        "DELIVERED": 2, "SHIPMENT_CREATED": 1, "PAYMENT_PENDING": 1, "CANCELLED": 1}
    assert counts["total"] == 5 and "REFUNDED" in counts["by_status"]
    since, now = datetime.fromisoformat(counts["since"]), datetime.fromisoformat(counts["until"])
    assert now - since == timedelta(hours=24)
    # and the payout RazorpayX holds and the refund waiting for an admin are pending, with an age
    payouts = body["payouts"]["pending"]
    assert payouts["count"] == 1 and payouts["by_status"] == {"pending": 1, "processing": 0}
    refunds = body["refunds"]["pending"]
    assert refunds["count"] == 1 and refunds["by_status"]["requested"] == 1
    for pending in (payouts, refunds):
        # The age is measured at the same instant the counts' window ends.
        age = now - datetime.fromisoformat(pending["oldest_created_at"])
        assert pending["oldest_age_seconds"] == int(age.total_seconds())
        assert 0 <= pending["oldest_age_seconds"] < 15 * 60

    # When RazorpayX is topped up the payout is paid: nothing waits any more
    razorpayx.post("balance", {"add": 10_000_000})
    until(lambda: _diagnostics(stack, admin)["payouts"]["pending"]["count"] == 0, 60)
    settled = _diagnostics(stack, admin)["payouts"]["pending"]
    assert settled["oldest_created_at"] is None and settled["oldest_age_seconds"] is None
