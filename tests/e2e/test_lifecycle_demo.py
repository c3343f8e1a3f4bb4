"""The lifecycle driver behind `make demo` and `make bench-cost`, run once against the session's
local stack over HTTP, so that neither can rot unnoticed. This stack keeps the stock 7-day return
window: the sale is delivered but not yet payable, and the demo says so rather than failing; the
second order is refunded through the approval workflow with the seeded admin approving (TOTP)."""

from __future__ import annotations

from bench.demo import demo
from bench.lifecycle import Endpoints


def test_one_life_is_sold_delivered_and_a_second_order_refunded_after_an_admin_approves(local_stack):
    lines: list[str] = []

    ended = demo(Endpoints.of_stack(local_stack), say=lines.append, settle_seconds=3)

    assert ended["sold_status"] == "DELIVERED" and ended["payout"] is None
    assert any("return window still open" in line for line in lines)
    assert ended["returned_status"] == "REFUNDED"
    refund = ended["refund"]
    assert refund["status"] == "completed" and refund["auto_approved"] is False and refund["decided_by"]
    assert refund["amount_paise"] == 149_900 and refund["merchant_refund_id"]
    # Every step printed the order's status as the API reported it.
    for status in ("PAYMENT_PENDING", "SHIPMENT_CREATED", "SHIPPED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "REFUNDED"):
        assert any(status in line for line in lines), status
