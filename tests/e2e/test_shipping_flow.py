"""Orders after PAID, over HTTP on the local stack: a paid order is shipped by the shipments worker through the
Shiprocket sandbox, scans (sandbox → webhook → tracking worker → track API) move it to DELIVERED,
provider outages are retried through SQS without a second Shiprocket order, a job out of retries
lands in the DLQ with the order SHIPMENT_FAILED in diagnostics, and every admin override works,
is refused where the state machine says no, and is audited.

Paid orders come from tests/paid_orders.py (checkout over HTTP, payment completed on the PhonePe
sandbox, applied by Bazaar's webhook and payments worker, which queue the shipment job)."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.conftest import bearer
from tests.waiting import a_poll_began
from tests.live import LiveSocket
from tests.paid_orders import PaidOrders

VISIBILITY_SECONDS = 2


def wait_until(check, seconds: float = 60.0, every: float = 0.3):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


@pytest.fixture(scope="module")
def shop(local_stack):
    """Paid orders, with the shipments queue's visibility shortened so retries come back fast."""
    sqs = local_stack.client("sqs")
    url = local_stack.names.queue_url("shipments")
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS)})
    a_poll_began(local_stack, "shipments")  # a poll already waiting used the old value
    paid = PaidOrders(local_stack)
    yield paid
    paid.stop()
    sqs.set_queue_attributes(QueueUrl=url, Attributes=before)


@pytest.fixture(scope="module")
def shiprocket(local_stack):
    return local_stack.sandbox("shiprocket").sandbox


def admin_order(api, tokens, order_id) -> dict:
    response = requests.get(f"{api}/v1/admin/orders/{order_id}", headers=bearer(tokens("admin")), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def admin_post(api, tokens, order_id, action, body=None, headers=None) -> requests.Response:
    return requests.post(f"{api}/v1/admin/orders/{order_id}/{action}", json=body if body is not None else {"reason": "test override"},
                         headers={**bearer(tokens("admin")), **(headers or {})}, timeout=60)


def status_becomes(api, tokens, order_id, status, seconds=60) -> dict:
    order = wait_until(lambda: (o := admin_order(api, tokens, order_id))["status"] == status and o, seconds)
    assert order, f"{order_id} never became {status}: {admin_order(api, tokens, order_id)['status']}"
    return order


def advance(shiprocket, order, to) -> dict:
    return requests.post(f"{shiprocket.url}/_sandbox/shipments/{order['shipment']['shipment_id']}/advance",
                         json={"to": to}, timeout=120).json()


def fault(shiprocket, **spec) -> None:
    requests.post(f"{shiprocket.url}/_sandbox/faults", json=spec, timeout=10).raise_for_status()


def provider_orders(shiprocket, order_id) -> list[dict]:
    return shiprocket.state(order_id)["orders"]


def audit_entries(api, tokens, order_id) -> list[dict]:
    response = requests.get(f"{api}/v1/admin/audit", params={"target_id": order_id},
                            headers=bearer(tokens("admin")), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_paid_order_ships_with_an_awb_and_scans_take_it_to_delivered(api, tokens, shop, shiprocket):
    order_id = shop.new()["order_id"]
    created = status_becomes(api, tokens, order_id, "SHIPMENT_CREATED")
    assert created["shipment"]["awb"]
    assert len(provider_orders(shiprocket, order_id)) == 1

    # Each step waits for the order: the worker applies what the track API says *now*, so scans
    # walked all at once would (rightly) take the order straight to the latest state.
    for label, status in (("OUT FOR PICKUP", "SHIPPED"), ("IN TRANSIT", "IN_TRANSIT"),
                          ("OUT FOR DELIVERY", "OUT_FOR_DELIVERY"), ("DELIVERED", "DELIVERED")):
        walked = advance(shiprocket, created, label)
        assert {d["status"] for d in walked["deliveries"]} <= {200}
        delivered = status_becomes(api, tokens, order_id, status)
    moves = [h["to_status"] for h in delivered["history"] if h["from_status"] != h["to_status"]]
    assert moves[-5:] == ["SHIPMENT_CREATED", "SHIPPED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]
    # The customer sees the same order, with its AWB.
    assert shop.customer_view(order_id)["shipment"]["awb"] == created["shipment"]["awb"]


def test_duplicate_and_out_of_order_scans_never_move_an_order_back(api, tokens, shop, shiprocket):
    order_id = shop.new()["order_id"]
    created = status_becomes(api, tokens, order_id, "SHIPMENT_CREATED")
    advance(shiprocket, created, "OUT FOR DELIVERY")
    before = status_becomes(api, tokens, order_id, "OUT_FOR_DELIVERY")
    shipment = created["shipment"]["shipment_id"]
    # a late IN TRANSIT scan, then the first scan's webhook again
    requests.post(f"{shiprocket.url}/_sandbox/shipments/{shipment}/scans", json={"label": "IN TRANSIT"},
                  timeout=30).raise_for_status()
    requests.post(f"{shiprocket.url}/_sandbox/shipments/{shipment}/replay", json={"index": 0},
                  timeout=30).raise_for_status()
    # an unknown label: kept in history, state unchanged
    requests.post(f"{shiprocket.url}/_sandbox/shipments/{shipment}/scans", json={"label": "TELEPORTED"},
                  timeout=30).raise_for_status()
    later = wait_until(lambda: (o := admin_order(api, tokens, order_id)) and
                       any("unknown status" in h["reason"] for h in o["history"]) and o)
    assert later, admin_order(api, tokens, order_id)["history"]
    assert later["status"] == "OUT_FOR_DELIVERY"
    assert len(later["history"]) > len(before["history"])
    assert all(h["from_status"] == h["to_status"] for h in later["history"][len(before["history"]):])


def test_provider_down_for_the_first_tries_ships_after_retries_with_one_shiprocket_order(api, tokens, shop,
                                                                                         shiprocket):
    # The create goes through but its answer is lost (timeout), then Shiprocket answers 5xx twice.
    fault(shiprocket, kind="timeout", path="/orders/create", count=1, then="process", delay_seconds=12)
    fault(shiprocket, kind="5xx", path="/orders", count=2)
    order_id = shop.new()["order_id"]
    shipped = status_becomes(api, tokens, order_id, "SHIPMENT_CREATED", seconds=90)
    assert len(provider_orders(shiprocket, order_id)) == 1
    assert shipped["shipment"]["awb"]


def test_down_for_good_goes_to_the_dlq_shows_in_diagnostics_and_admin_retry_ships_it(local_stack, api, tokens,
                                                                                     shop, shiprocket):
    sqs = local_stack.client("sqs")
    dlq = local_stack.names.queue_url("shipments-dlq")
    fault(shiprocket, kind="5xx", path="/orders", count=1000)
    operations = LiveSocket(local_stack, tokens("admin"))  # an admin dashboard, open throughout
    try:
        order_id = shop.new()["order_id"]
        failed = status_becomes(api, tokens, order_id, "SHIPMENT_FAILED", seconds=120)
        assert "after all retries" in failed["history"][-1]["reason"]
        # The dashboard is told live, as an operational event, not only as the order's status.
        operations.wait_for(lambda frames: [f for f in frames
                                            if f["type"] == "ops.shipment_failed" and f.get("order_id") == order_id])
        diagnostics = requests.get(f"{api}/v1/admin/diagnostics", headers=bearer(tokens("admin")), timeout=30).json()
        assert order_id in [o["order_id"] for o in diagnostics["shipments"]["oldest_failed"]]
        assert diagnostics["shipments"]["failed"] >= 1
        # SQS moves the message on the receive after the last one
        in_dlq = wait_until(lambda: int(sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]))
        assert in_dlq
    finally:
        operations.close()
        requests.post(f"{shiprocket.url}/_sandbox/reset", json={"keep_orders": True}, timeout=10)
    retried = admin_post(api, tokens, order_id, "retry-shipment", {"reason": "Shiprocket is back"})
    assert retried.status_code == 200, retried.text
    shipped = status_becomes(api, tokens, order_id, "SHIPMENT_CREATED")
    assert shipped["shipment"]["awb"] and len(provider_orders(shiprocket, order_id)) == 1
    diagnostics = requests.get(f"{api}/v1/admin/diagnostics", headers=bearer(tokens("admin")), timeout=30).json()
    assert order_id not in [o["order_id"] for o in diagnostics["shipments"]["oldest_failed"]]
    entry = audit_entries(api, tokens, order_id)[0]
    assert entry["action"] == "order.shipment_retried" and entry["reason"] == "Shiprocket is back"


def test_admin_overrides_refuse_what_the_state_machine_does_not_allow(api, tokens, shop):
    order_id = shop.new()["order_id"]
    status_becomes(api, tokens, order_id, "SHIPMENT_CREATED")
    for action in ("retry-shipment",):
        refused = admin_post(api, tokens, order_id, action)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "INVALID_STATE_TRANSITION"
    not_admin = requests.post(f"{api}/v1/admin/orders/{order_id}/mark-delivered", json={"reason": "nope"},
                              headers=bearer(shop.customer), timeout=30)
    assert not_admin.status_code == 403
    no_reason = admin_post(api, tokens, order_id, "mark-delivered", {})
    assert no_reason.status_code == 400
    assert admin_post(api, tokens, order_id, "mark-delivered", {"reason": "customer confirmed by phone"}).status_code == 200
    again = admin_post(api, tokens, order_id, "mark-delivered")
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_STATE_TRANSITION"
    cancel = admin_post(api, tokens, order_id, "cancel-shipment")
    assert cancel.status_code == 409
    entries = audit_entries(api, tokens, order_id)
    assert [e["action"] for e in entries] == ["order.marked_delivered"]
    assert entries[0]["reason"] == "customer confirmed by phone" and entries[0]["after"]["status"] == "DELIVERED"


def test_cancel_shipment_cancels_at_shiprocket_and_is_audited(api, tokens, shop, shiprocket):
    order_id = shop.new()["order_id"]
    status_becomes(api, tokens, order_id, "SHIPMENT_CREATED")
    cancelled = admin_post(api, tokens, order_id, "cancel-shipment", {"reason": "customer changed address"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "SHIPMENT_CANCELLED"
    assert [o for o in provider_orders(shiprocket, order_id) if o["status"].upper().startswith("CANCEL")]
    assert audit_entries(api, tokens, order_id)[0]["action"] == "order.shipment_cancelled"


def test_partial_then_full_refund_through_phonepe(local_stack, api, tokens, shop):
    order = shop.new(quantity=2)  # 2 × 49 900
    order_id = order["order_id"]
    status_becomes(api, tokens, order_id, "SHIPMENT_CREATED")
    refund = lambda amount, key: admin_post(api, tokens, order_id, "refund",  # noqa: E731
                                            {"amount_paise": amount, "reason": "damaged in transit"},
                                            headers={"Idempotency-Key": key})
    # Not while the parcel is on its way
    refused = refund(10_000, uuid.uuid4().hex)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "INVALID_STATE_TRANSITION"
    assert admin_post(api, tokens, order_id, "mark-delivered").status_code == 200

    key = uuid.uuid4().hex
    first = refund(30_000, key)
    assert first.status_code == 202, first.text  # a pre-approved refund request; the workflow sends it
    assert refund(30_000, key).json() == first.json()  # same key, same answer, no second refund
    too_much = refund(70_000, uuid.uuid4().hex)
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "REFUND_EXCEEDS_PAID"

    def sent(n: int) -> dict | None:
        """The order's n-th refund, once the refund workflow has asked PhonePe for it."""
        refunds = admin_order(api, tokens, order_id)["refunds"] or []
        return refunds[n] if len(refunds) > n else None

    refund_id = wait_until(lambda: sent(0), 60)["merchant_refund_id"]
    assert refund_id == f"{order_id}-R01"

    phonepe = local_stack.sandbox("phonepe")
    requests.post(f"{phonepe.url}/_sandbox/refunds/{refund_id}/outcome", json={"outcome": "completed"},
                  timeout=10).raise_for_status()
    assert admin_order(api, tokens, order_id)["status"] == "PARTIALLY_REFUNDED"  # the admin GET polls

    # The first request completes from the order's event; then the shop may ask for the rest.
    wait_until(lambda: refund(69_800, uuid.uuid4().hex).status_code == 202, 60)
    rest_id = wait_until(lambda: sent(1), 60)["merchant_refund_id"]
    requests.post(f"{phonepe.url}/_sandbox/refunds/{rest_id}/outcome", json={"outcome": "completed"},
                  timeout=10).raise_for_status()
    run = requests.post(f"{api}/_local/schedules/refund-status/run", timeout=60)
    assert run.status_code == 200, run.text
    final = admin_order(api, tokens, order_id)
    assert final["status"] == "REFUNDED"
    assert [r["state"] for r in final["refunds"]] == ["COMPLETED", "COMPLETED"]
    actions = [e["action"] for e in audit_entries(api, tokens, order_id)]
    assert actions.count("order.refund_requested") == 2
