"""Refunds as a Step Functions workflow, end to end on a local stack: a shopper asks, an admin
approves (over the API, or with send-task-success against the twin's AWS endpoint as from the
console), PhonePe's sandbox refunds, the order becomes REFUNDED and the seller's ledger is
reversed; small refunds before shipment are approved by the policy; rejections, the approval
timeout, PhonePe failures and an admin's retry; and every race ends with one outcome and one
PhonePe refund. This stack runs at clock speed 20 (the workflow's 10-minute completion poll takes
30 s) and waits 20 s for an approval. Its first execution includes every cold start on the way
(dispatcher, starter, moto's interpreter, the task function), hence the generous waits."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import requests

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer, login
from tests.live import LiveSocket
from tests.payees import PRICE, Seller
from tests.waiting import until

APPROVAL_TIMEOUT = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    service = replace(SERVICE, settings={**SERVICE.settings, "RETURN_WINDOW_DAYS": "0",
                                         "REFUND_APPROVAL_TIMEOUT_SECONDS": str(APPROVAL_TIMEOUT),
                                         "REFUND_AUTO_APPROVE_PAISE": "1000"})
    config = LocalConfig.for_tests(tmp_path_factory.mktemp("refunds-state"), clock_speed=20)
    running = LocalStack(config, service).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(stack) -> str:
    return login(stack.url, **stack.accounts["admin"])["access_token"]


def _ask(stack, seller: Seller, order_id: str, amount: int | None = None, key: str | None = None) -> requests.Response:
    body = {"reason": "damaged", "note": "the lid is cracked", **({"amount_paise": amount} if amount else {})}
    return requests.post(f"{stack.url}/v1/orders/{order_id}/refunds", json=body, timeout=30,
                         headers={**bearer(seller.shop.customer), "Idempotency-Key": key or uuid.uuid4().hex})


def _refund(stack, token: str, order_id: str, refund_id: str) -> dict:
    listed = requests.get(f"{stack.url}/v1/orders/{order_id}/refunds", headers=bearer(token), timeout=30)
    assert listed.status_code == 200, listed.text
    return next(r for r in listed.json()["items"] if r["refund_id"] == refund_id)


def _becomes(stack, seller: Seller, order_id: str, refund_id: str, status: str, seconds: float = 150) -> dict:
    return until(lambda: (r := _refund(stack, seller.shop.customer, order_id, refund_id))["status"] == status and r,
                 seconds)


def _asked_phonepe(stack, admin: str, order_id: str, merchant_refund_id: str) -> None:
    """Waits until the workflow's refund reached PhonePe (it is on the order), not only reserved."""
    def on_the_order() -> bool:
        refunds = requests.get(f"{stack.url}/v1/admin/orders/{order_id}", headers=bearer(admin),
                               timeout=30).json()["refunds"] or []
        return any(r["merchant_refund_id"] == merchant_refund_id and r["state"] != "REQUESTED" for r in refunds)
    until(on_the_order, 120)


def _phonepe_completes(stack, merchant_refund_id: str) -> None:
    phonepe = stack.sandbox("phonepe")
    requests.post(f"{phonepe.url}/_sandbox/refunds/{merchant_refund_id}/outcome", json={"outcome": "completed"},
                  timeout=10).raise_for_status()


def _executions(stack, refund_id: str) -> list[dict]:
    answer = requests.get(f"{stack.url}/_local/executions", params={"state_machine": "refund-approval"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["executions"] if e["name"].startswith(refund_id)]


def _waiting_token(stack, refund_id: str) -> str:
    """The waiting task's token, read from the execution's history as an admin reads it in the
    console (the task's input carries it)."""
    def token():
        for execution in _executions(stack, refund_id):
            for event in execution["history"]:
                text = json.dumps(event)
                if "await_decision" in text and "task_token" in text:
                    parameters = (event.get("taskScheduledEventDetails") or {}).get("parameters")
                    if parameters:
                        return json.loads(parameters)["Payload"]["task_token"]
        return None
    return until(token, 150)


def test_a_customer_request_approved_over_the_api_is_refunded_and_the_ledger_reversed(stack, admin):
    seller = Seller(stack, admin)
    seller.register_account()
    order = seller.delivered_order()
    seller.settle()
    paid = seller.payout_settles(seller.pay_now().json()["payout_id"])

    with LiveSocket(stack, admin) as dashboard:
        asked = _ask(stack, seller, order["order_id"])
        assert asked.status_code == 201, asked.text
        request = asked.json()
        # The admin dashboard is told live that a request waits for a decision.
        dashboard.wait_for(lambda frames: [f for f in frames if f["type"] == "ops.refund_awaiting_approval"
                                           and f.get("refund_id") == request["refund_id"]])
    assert request["status"] == "requested" and request["amount_paise"] == PRICE
    queue = requests.get(f"{stack.url}/v1/admin/refunds", headers=bearer(admin), timeout=30).json()
    assert request["refund_id"] in [r["refund_id"] for r in queue["items"]] and queue["counts"]["waiting"] >= 1
    _waiting_token(stack, request["refund_id"])  # the execution waits for an admin

    approved = requests.post(f"{stack.url}/v1/admin/refunds/{request['refund_id']}/approve", timeout=30,
                             json={"reason": "photo shows the crack"}, headers=bearer(admin))
    assert approved.status_code == 200, approved.text

    processing = _becomes(stack, seller, order["order_id"], request["refund_id"], "processing")
    _asked_phonepe(stack, admin, order["order_id"], processing["merchant_refund_id"])
    _phonepe_completes(stack, processing["merchant_refund_id"])
    done = _becomes(stack, seller, order["order_id"], request["refund_id"], "completed")
    assert done["processed_at"] and [h["status"] for h in done["history"]] == [
        "requested", "approved", "processing", "completed"]
    assert seller.shop.customer_view(order["order_id"])["status"] == "REFUNDED"
    reversal = until(lambda: next((p for p in seller.earnings()["items"] if p["kind"] == "refund_reversal"), None), 60)
    assert reversal["net_paise"] == -paid["amount_paise"]
    until(lambda: [e["status"] for e in _executions(stack, request["refund_id"])] == ["SUCCEEDED"], 150)
    audit = requests.get(f"{stack.url}/v1/admin/audit", params={"target_id": order["order_id"]},
                         headers=bearer(admin), timeout=30).json()["items"]
    assert "refund.approved" in [e["action"] for e in audit]

    def told() -> set[str]:
        feed = requests.get(f"{stack.url}/v1/me/notifications", headers=bearer(seller.shop.customer), timeout=30)
        return {n["kind"] for n in feed.json()["items"]}
    until(lambda: {"refund_requested", "refund_approved", "order_refunded"} <= told(), 30)


def test_before_shipment_a_refund_is_approved_by_the_policy_and_runs_alone(stack, admin):
    seller = Seller(stack, admin)
    # Shiprocket is down for a while: the order stays PAID, its shipment job waiting to be retried.
    requests.post(f"{stack.sandbox('shiprocket').url}/_sandbox/faults",
                  json={"kind": "5xx", "count": 1, "path": "/orders/create"},
                  timeout=10).raise_for_status()
    order = seller.shop.new(1)
    assert seller.shop.customer_view(order["order_id"])["status"] == "PAID"

    asked = _ask(stack, seller, order["order_id"])

    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["status"] == "approved" and request["auto_approved"] is True
    processing = _becomes(stack, seller, order["order_id"], request["refund_id"], "processing")
    _asked_phonepe(stack, admin, order["order_id"], processing["merchant_refund_id"])
    _phonepe_completes(stack, processing["merchant_refund_id"])
    _becomes(stack, seller, order["order_id"], request["refund_id"], "completed")


def test_approval_through_send_task_success_against_the_local_aws_endpoint(stack, admin):
    seller = Seller(stack, admin)
    order = seller.delivered_order()
    request = _ask(stack, seller, order["order_id"]).json()
    token = _waiting_token(stack, request["refund_id"])

    stack.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"approved": True,
                                                                                         "by": "console"}))

    processing = _becomes(stack, seller, order["order_id"], request["refund_id"], "processing")
    assert processing["merchant_refund_id"] == f"{order['order_id']}-R01"


def test_a_rejection_tells_the_customer_and_refunds_nothing(stack, admin):
    seller = Seller(stack, admin)
    order = seller.delivered_order()
    request = _ask(stack, seller, order["order_id"]).json()
    _waiting_token(stack, request["refund_id"])

    rejected = requests.post(f"{stack.url}/v1/admin/refunds/{request['refund_id']}/reject", timeout=30,
                             json={"reason": "the item was used"}, headers=bearer(admin))

    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    until(lambda: (e := _executions(stack, request["refund_id"])) and e[0]["status"] == "SUCCEEDED", 150)
    assert _refund(stack, seller.shop.customer, order["order_id"], request["refund_id"])["merchant_refund_id"] is None
    again = _ask(stack, seller, order["order_id"])
    assert again.status_code == 201  # a closed request lets the shopper ask again


def test_nobody_approving_in_time_expires_the_request(stack, admin):
    seller = Seller(stack, admin)
    order = seller.delivered_order()
    request = _ask(stack, seller, order["order_id"]).json()

    expired = _becomes(stack, seller, order["order_id"], request["refund_id"], "expired", APPROVAL_TIMEOUT + 60)

    assert expired["merchant_refund_id"] is None
    late = requests.post(f"{stack.url}/v1/admin/refunds/{request['refund_id']}/approve", timeout=30,
                         json={"reason": "too late"}, headers=bearer(admin))
    assert late.status_code == 409


def test_racing_decisions_make_one_outcome_and_one_phonepe_refund(stack, admin):
    seller = Seller(stack, admin)
    order = seller.delivered_order()
    request = _ask(stack, seller, order["order_id"]).json()
    _waiting_token(stack, request["refund_id"])

    def decide(n: int) -> requests.Response:
        action = "approve" if n % 2 == 0 else "reject"
        return requests.post(f"{stack.url}/v1/admin/refunds/{request['refund_id']}/{action}", timeout=30,
                             json={"reason": f"decision {n}"}, headers=bearer(admin))

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(decide, range(6)))

    assert sum(1 for a in answers if a.status_code == 200) == 1, [a.text for a in answers]
    final = until(lambda: (r := _refund(stack, seller.shop.customer, order["order_id"], request["refund_id"]))[
        "status"] in ("processing", "rejected") and r, 120)
    if final["status"] == "processing":
        _asked_phonepe(stack, admin, order["order_id"], final["merchant_refund_id"])
    on_the_order = requests.get(f"{stack.url}/v1/admin/orders/{order['order_id']}", headers=bearer(admin),
                                timeout=30).json()["refunds"] or []
    assert len(on_the_order) == (1 if final["status"] == "processing" else 0)


def test_bad_requests_are_refused_with_clear_codes(stack, admin):
    seller = Seller(stack, admin)
    order = seller.delivered_order()
    too_much = _ask(stack, seller, order["order_id"], PRICE + 1)
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "REFUND_EXCEEDS_PAID"
    other = Seller(stack, admin)
    someone_elses = requests.post(f"{stack.url}/v1/orders/{order['order_id']}/refunds", timeout=30,
                                  json={"reason": "damaged"},
                                  headers={**bearer(other.shop.customer), "Idempotency-Key": uuid.uuid4().hex})
    assert someone_elses.status_code == 404
    unknown_reason = requests.post(f"{stack.url}/v1/orders/{order['order_id']}/refunds", timeout=30,
                                   json={"reason": "because"},
                                   headers={**bearer(seller.shop.customer), "Idempotency-Key": uuid.uuid4().hex})
    assert unknown_reason.status_code == 400
    key = uuid.uuid4().hex
    first = _ask(stack, seller, order["order_id"], 100, key=key)
    assert first.status_code == 201 and _ask(stack, seller, order["order_id"], 100, key=key).json() == first.json()
    second = _ask(stack, seller, order["order_id"], 100)
    assert second.status_code == 409 and second.json()["error"]["code"] == "REFUND_ALREADY_OPEN"


def test_a_refund_phonepe_fails_is_retried_by_an_admin_and_completes_once(stack, admin):
    seller = Seller(stack, admin)
    order = seller.delivered_order()
    request = _ask(stack, seller, order["order_id"], 500).json()  # small: the policy approves it
    processing = _becomes(stack, seller, order["order_id"], request["refund_id"], "processing")
    _asked_phonepe(stack, admin, order["order_id"], processing["merchant_refund_id"])
    phonepe = stack.sandbox("phonepe")
    requests.post(f"{phonepe.url}/_sandbox/refunds/{processing['merchant_refund_id']}/outcome",
                  json={"outcome": "failed"}, timeout=10).raise_for_status()

    failed = _becomes(stack, seller, order["order_id"], request["refund_id"], "failed", 150)
    assert failed["failure_reason"]
    retried = requests.post(f"{stack.url}/v1/admin/refunds/{request['refund_id']}/retry", timeout=30,
                            json={"reason": "PhonePe was down"}, headers=bearer(admin))
    assert retried.status_code == 200, retried.text
    again = until(lambda: (r := _refund(stack, seller.shop.customer, order["order_id"], request["refund_id"]))[
        "merchant_refund_id"] == f"{order['order_id']}-R02" and r["status"] == "processing" and r, 90)
    _asked_phonepe(stack, admin, order["order_id"], again["merchant_refund_id"])
    _phonepe_completes(stack, again["merchant_refund_id"])

    done = _becomes(stack, seller, order["order_id"], request["refund_id"], "completed")
    assert [h["status"] for h in done["history"]].count("completed") == 1
    states = [r["state"] for r in requests.get(f"{stack.url}/v1/admin/orders/{order['order_id']}",
                                                headers=bearer(admin), timeout=30).json()["refunds"]]
    assert states == ["FAILED", "COMPLETED"]  # one refund paid, under the second id
    # The order's event completed the request at once; the retry's execution finds it so at its next poll.
    until(lambda: sorted(e["status"] for e in _executions(stack, request["refund_id"])) == ["FAILED", "SUCCEEDED"],
          150)
