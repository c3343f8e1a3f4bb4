"""PhonePe payments end to end over HTTP on the local twin, for v2 AND v1: checkout opens the
payment, the sandbox's pay page decides it, PhonePe's webhook (or, when it never comes, the
reconciliation schedule) settles the order exactly once, and a paid order is sent to shipping.

Each API generation gets its own stack, built from a copy of the description in which the
functions' PHONEPE_API_VERSION is set and PHONEPE_FIRST_STATUS_CHECK_SECONDS is 0, so a new
payment's first mandated status check is due at once and the reconciliation schedule (fired
through POST /_local/schedules/payment-reconciliation/run) settles it without waiting 20 s.
The `shipments` queue's consumer is stopped for the module: the test reads the queue itself."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time

import pytest
import requests

from bazaar.payments.config import PHONEPE_API_VERSION_FLAG
from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer, get, login
from tests.waiting import a_poll_began
from tests.shop import assert_balanced, checkout, create_product, new_account_token


def payments_service(api_version: str):
    """The description with every PhonePe-using function on `api_version` (the setting and the
    `phonepe_api_version` flag, which decides while the flag store answers), first check at once."""
    def tuned(function):
        if "PHONEPE_API_VERSION" not in function.environment:
            return function
        return dataclasses.replace(function, environment={
            **function.environment, "PHONEPE_API_VERSION": api_version, "PHONEPE_FIRST_STATUS_CHECK_SECONDS": "0"})

    flags = SERVICE.feature_flags
    generation = dataclasses.replace(flags.flag(PHONEPE_API_VERSION_FLAG), default=api_version)
    deployed = dataclasses.replace(flags, flags=tuple(generation if f.name == generation.name else f for f in flags.flags))
    return dataclasses.replace(SERVICE, functions=tuple(tuned(f) for f in SERVICE.functions), feature_flags=deployed)


@pytest.fixture(scope="module", params=["v2", "v1"])
def stack(request, tmp_path_factory):
    stack = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp(f"payments-{request.param}")),
                       payments_service(request.param))
    stack.start()
    shipments_poller = next(p for p in stack.pollers if p.trigger.queue == "shipments")
    shipments_poller.stop()
    stack.api_version = request.param
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def seller(stack):
    return new_account_token(stack, "seller")[0]


@pytest.fixture(scope="module")
def admin(stack):
    return login(stack.url, **stack.accounts["admin"])["access_token"]


@pytest.fixture(scope="module")
def shipments(stack):
    """Every shipment request sent so far, read (and deleted) from the queue, by order id."""
    sqs, url = stack.client("sqs"), stack.names.queue_url("shipments")
    seen: list[str] = []

    def read() -> list[str]:
        # What follows PAID is relayed from the order's OrderPaid event: wait until the relay
        # has delivered everything committed so far, then read what it sent.
        stack.wait_for_streams()
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return seen
            seen.extend(json.loads(m["Body"])["order_id"] for m in batch)
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                            for i, m in enumerate(batch)])

    return read


def _sandbox(stack, path: str, body: dict | None = None) -> dict:
    url = f"{stack.sandbox('phonepe').url}/_sandbox{path}"
    response = requests.post(url, json=body or {}, timeout=10) if body is not None else requests.get(url, timeout=10)
    response.raise_for_status()
    return response.json()


def _buy(stack, seller, units: int = 5, quantity: int = 2, price: int = 49900):
    product = create_product(stack.url, seller, [units], price_paise=price)
    token, _user_id = new_account_token(stack, "customer")
    response = checkout(stack.url, token, [(product, 0, quantity)])
    assert response.status_code == 201, response.text
    return product["variants"][0]["variant_id"], token, response.json()


def _order(stack, token, order_id) -> dict:
    response = get(f"{stack.url}/v1/orders/{order_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def _wait_for_status(stack, token, order_id, status, seconds=60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        order = _order(stack, token, order_id)
        if order["status"] == status or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


def _payment_events_drained(stack, seconds=60) -> None:
    """Waits until the worker has taken every queued webhook (visible and in flight)."""
    sqs, url = stack.client("sqs"), stack.names.queue_url("payment-events")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if set(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values()) == {"0"}:
            return
        time.sleep(0.2)
    raise AssertionError("payment-events was not drained")


def _pay(body: dict, outcome: str) -> None:
    # The shopper on PhonePe's pay page (the redirect checkout answered with) presses a button.
    page = requests.post(body["payment"]["redirect_url"], data={"outcome": outcome}, allow_redirects=False, timeout=10)
    assert page.status_code in (200, 303), page.text
    if page.status_code == 303:  # back to the shop's page for the order
        assert page.headers["Location"].endswith(f"/{body['order']['order_id']}")


def _reconcile(stack) -> dict:
    response = requests.post(f"{stack.url}/_local/schedules/payment-reconciliation/run", timeout=60)
    assert response.status_code == 200 and response.json()["ok"], response.text
    return response.json()


def _statuses(events: list[dict]) -> list[str]:
    return [e["to_status"] for e in events]


def test_checkout_opens_a_payment_on_the_generation_in_use(stack, seller):
    variant_id, _, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    assert body["payment"]["merchant_order_id"] == order_id
    assert body["payment"]["redirect_url"].startswith(stack.sandbox("phonepe").url + "/pay/")
    seen = _sandbox(stack, f"/orders/{order_id}")
    assert seen["amount"] == body["total_paise"] and seen["api"] == stack.api_version
    assert assert_balanced(stack, variant_id)["locked"] == 2


def test_paying_on_the_pay_page_makes_the_order_paid_once_and_asks_for_its_shipment(stack, seller, shipments, admin):
    variant_id, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    _pay(body, "success")

    order = _wait_for_status(stack, token, order_id, "PAID")
    assert order["status"] == "PAID"
    assert assert_balanced(stack, variant_id) == {"available": 3, "locked": 0, "sold": 2, "received": 5}
    _payment_events_drained(stack)
    assert shipments().count(order_id) == 1

    events = get(f"{stack.url}/v1/orders/{order_id}/events", headers=bearer(token))
    assert events.status_code == 200
    assert _statuses(events.json()["events"]) == ["PAYMENT_PENDING", "PAID"]
    assert events.json()["events"][1]["reason"] == "payment confirmed"
    assert get(f"{stack.url}/v1/orders/{order_id}/events", headers=bearer(admin)).status_code == 200
    stranger, _ = new_account_token(stack, "customer")
    hidden = get(f"{stack.url}/v1/orders/{order_id}/events", headers=bearer(stranger))
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "NOT_FOUND"

    # History items carry their expiry (ORDER_HISTORY_RETENTION_DAYS); the order itself does not.
    items = stack.client("dynamodb").query(
        TableName=stack.names.table_name("orders"), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ORDER#{order_id}"}})["Items"]
    retention = int(SERVICE.settings["ORDER_HISTORY_RETENTION_DAYS"]) * 86400
    for item in items:
        if item["sk"]["S"].startswith("HISTORY#"):
            assert abs(int(item["expires_at"]["N"]) - time.time() - retention) < 600
        else:
            assert "expires_at" not in item

    # A settled order stays settled: reconciliation finds nothing left to ask about it.
    _reconcile(stack)
    assert _order(stack, token, order_id)["status"] == "PAID"
    assert assert_balanced(stack, variant_id)["sold"] == 2


def test_a_declined_payment_fails_the_order_and_gives_the_stock_back(stack, seller, shipments):
    variant_id, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    _pay(body, "failure")

    order = _wait_for_status(stack, token, order_id, "PAYMENT_FAILED")
    assert order["status"] == "PAYMENT_FAILED"
    assert assert_balanced(stack, variant_id) == {"available": 5, "locked": 0, "sold": 0, "received": 5}
    _payment_events_drained(stack)
    assert order_id not in shipments()


def test_a_payment_whose_webhook_never_came_is_settled_by_reconciliation(stack, seller, shipments, admin):
    variant_id, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    _sandbox(stack, "/scenarios", {"drop_webhooks": 1})
    _pay(body, "success")
    ours = [d for d in _sandbox(stack, "/webhooks")["deliveries"] if d["label"].endswith(order_id)]
    assert [r["outcome"] for d in ours for r in d["results"]] == ["dropped"]
    assert _order(stack, token, order_id)["status"] == "PAYMENT_PENDING"
    diagnostics = get(f"{stack.url}/v1/admin/diagnostics", headers=bearer(admin)).json()
    assert order_id in diagnostics["payments"]["pending_order_ids"]

    run = _reconcile(stack)
    assert run["ok"] and run["result"]["outcomes"].get("paid", 0) >= 1, run
    order = _wait_for_status(stack, token, order_id, "PAID", seconds=10)
    assert order["status"] == "PAID"
    assert assert_balanced(stack, variant_id) == {"available": 3, "locked": 0, "sold": 2, "received": 5}
    assert shipments().count(order_id) == 1
    diagnostics = get(f"{stack.url}/v1/admin/diagnostics", headers=bearer(admin)).json()
    assert order_id not in diagnostics["payments"]["pending_order_ids"]


def test_a_declined_payment_without_webhook_is_failed_by_reconciliation(stack, seller):
    variant_id, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    _sandbox(stack, "/scenarios", {"drop_webhooks": 1})
    _pay(body, "failure")
    _reconcile(stack)
    assert _wait_for_status(stack, token, order_id, "PAYMENT_FAILED", seconds=10)["status"] == "PAYMENT_FAILED"
    assert assert_balanced(stack, variant_id) == {"available": 5, "locked": 0, "sold": 0, "received": 5}


def test_one_hundred_concurrent_copies_of_the_webhook_have_one_effect(stack, seller, shipments):
    variant_id, token, body = _buy(stack, seller, units=10, quantity=3)
    order_id = body["order"]["order_id"]
    _sandbox(stack, "/scenarios", {"webhook_copies": 100})
    try:
        _pay(body, "success")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ours = [d for d in _sandbox(stack, "/webhooks")["deliveries"] if d["label"].endswith(order_id)]
            if ours and sum(len(d["results"]) for d in ours) >= 100:
                break
            time.sleep(0.2)
    finally:
        _sandbox(stack, "/scenarios", {"webhook_copies": 1})
    delivered = [r for d in ours for r in d["results"]]
    assert len(delivered) >= 100 and {r["status"] for r in delivered} == {200}
    _payment_events_drained(stack, seconds=120)

    order = _order(stack, token, order_id)
    assert order["status"] == "PAID"
    assert _statuses(order["history"]) == ["PAYMENT_PENDING", "PAID"]
    assert assert_balanced(stack, variant_id) == {"available": 7, "locked": 0, "sold": 3, "received": 10}
    assert shipments().count(order_id) == 1


def _forged_v2(stack, order_id: str, amount: int) -> requests.Response:
    body = json.dumps({"type": "CHECKOUT_ORDER_COMPLETED", "event": "checkout.order.completed", "payload": {
        "merchantId": "BAZAARLOCAL", "merchantOrderId": order_id, "orderId": "OMO1", "state": "COMPLETED",
        "amount": amount, "expireAt": 1, "paymentDetails": []}}).encode()
    guess = hashlib.sha256(b"bazaar_local:guessed-password").hexdigest()
    return requests.post(f"{stack.url}/webhooks/phonepe", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "Authorization": guess})


def _forged_v1(stack, order_id: str, amount: int) -> requests.Response:
    import base64

    status = {"success": True, "code": "PAYMENT_SUCCESS", "data": {
        "merchantId": "BAZAARLOCAL", "merchantTransactionId": order_id, "transactionId": "T1", "amount": amount,
        "state": "COMPLETED"}}
    response = base64.b64encode(json.dumps(status).encode()).decode()
    forged = hashlib.sha256((response + "not-the-salt").encode()).hexdigest() + "###1"
    return requests.post(f"{stack.url}/webhooks/phonepe", data=json.dumps({"response": response}), timeout=10,
                         headers={"Content-Type": "application/json", "X-VERIFY": forged})


def test_forged_webhooks_are_refused_and_change_nothing(stack, seller, shipments):
    variant_id, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    before = assert_balanced(stack, variant_id)
    for forge in (_forged_v2, _forged_v1):
        refused = forge(stack, order_id, body["total_paise"])
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    _payment_events_drained(stack)
    assert _order(stack, token, order_id)["status"] == "PAYMENT_PENDING"
    assert assert_balanced(stack, variant_id) == before
    assert order_id not in shipments()


def test_a_genuine_webhook_whose_claim_phonepe_does_not_confirm_changes_nothing(stack, seller):
    """Signed with the real secret but claiming a payment PhonePe never saw (leaked credentials):
    the status API re-confirmation refuses it."""
    variant_id, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    secret = json.loads(stack.client("secretsmanager").get_secret_value(
        SecretId=stack.names.secret_id("phonepe"))["SecretString"])
    claim = json.dumps({"type": "CHECKOUT_ORDER_COMPLETED", "event": "checkout.order.completed", "payload": {
        "merchantId": secret["merchant_id"], "merchantOrderId": order_id, "orderId": "OMO1", "state": "COMPLETED",
        "amount": body["total_paise"], "expireAt": 1, "paymentDetails": []}}).encode()
    authorization = hashlib.sha256(f"{secret['webhook_username']}:{secret['webhook_password']}".encode()).hexdigest()
    sqs, url = stack.client("sqs"), stack.names.queue_url("payment-events")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "2"})
    a_poll_began(stack, "payment-events")  # a long poll already waiting keeps the old timeout
    try:
        worker = stack.runtimes["payments-events-worker"]
        before = worker.invocations
        accepted = requests.post(f"{stack.url}/webhooks/phonepe", data=claim, timeout=10,
                                 headers={"Content-Type": "application/json", "Authorization": authorization})
        assert accepted.status_code == 200
        # PhonePe says PENDING: the claim is not confirmed and comes back (visibility 2 s) until
        # the test lets it go; by the second look it has been judged twice and moved nothing.
        deadline = time.monotonic() + 30
        while worker.invocations < before + 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker.invocations >= before + 2
        assert _order(stack, token, order_id)["status"] == "PAYMENT_PENDING"
        assert assert_balanced(stack, variant_id)["locked"] == 2
    finally:
        sqs.purge_queue(QueueUrl=url)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "180"})


def test_a_payment_after_the_order_was_cancelled_needs_a_refund_and_shows_in_diagnostics(stack, seller, admin, shipments):
    variant_id, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    cancelled = requests.post(f"{stack.url}/v1/orders/{order_id}/cancel", headers=bearer(token), timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    _pay(body, "success")  # the shopper still had PhonePe's page open

    order = _wait_for_status(stack, token, order_id, "NEEDS_REFUND")
    assert _statuses(order["history"]) == ["PAYMENT_PENDING", "CANCELLED", "NEEDS_REFUND"]
    assert assert_balanced(stack, variant_id) == {"available": 5, "locked": 0, "sold": 0, "received": 5}
    _payment_events_drained(stack)
    assert order_id not in shipments()
    diagnostics = get(f"{stack.url}/v1/admin/diagnostics", headers=bearer(admin)).json()["payments"]
    assert order_id in diagnostics["needs_refund"]["order_ids"] and diagnostics["needs_refund"]["count"] >= 1


def test_phonepe_unreachable_at_checkout_releases_the_order(stack, seller):
    product = create_product(stack.url, seller, [5])
    variant_id = product["variants"][0]["variant_id"]
    token, _ = new_account_token(stack, "customer")
    _sandbox(stack, "/scenarios", {"throttle_next": 6, "retry_after_seconds": 0})
    try:
        response = checkout(stack.url, token, [(product, 0, 2)])
    finally:
        _sandbox(stack, "/scenarios", {"throttle_next": 0, "retry_after_seconds": 1})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert assert_balanced(stack, variant_id) == {"available": 5, "locked": 0, "sold": 0, "received": 5}
    mine = get(f"{stack.url}/v1/orders", headers=bearer(token)).json()["items"]
    assert [o["status"] for o in mine] == ["PAYMENT_FAILED"]


def test_a_lost_pay_answer_is_retried_under_the_same_merchant_order_id(stack, seller, shipments):
    """PhonePe makes the payment but its answer stalls past our timeout: the retry (same id) is
    refused as a duplicate and the status API confirms the payment exists; checkout answers
    without a redirect, and the order is settled like any other once the shopper pays."""
    product = create_product(stack.url, seller, [5])
    variant_id = product["variants"][0]["variant_id"]
    token, _ = new_account_token(stack, "customer")
    _sandbox(stack, "/scenarios", {"pay_timeouts": 1, "pay_delay_seconds": 6})
    try:
        response = checkout(stack.url, token, [(product, 0, 1)])
    finally:
        _sandbox(stack, "/scenarios", {"pay_timeouts": 0, "pay_delay_seconds": 3})
    assert response.status_code == 201, response.text
    body = response.json()
    order_id = body["order"]["order_id"]
    assert body["payment"]["redirect_url"] is None and body["payment"]["merchant_order_id"] == order_id
    at_phonepe = _sandbox(stack, f"/orders/{order_id}")  # one payment, under the order's id
    assert at_phonepe["amount"] == body["total_paise"] and at_phonepe["attempts"] == 0
    _sandbox(stack, f"/orders/{order_id}/outcome", {"outcome": "success"})
    assert _wait_for_status(stack, token, order_id, "PAID")["status"] == "PAID"
    assert assert_balanced(stack, variant_id)["sold"] == 1


def _wait_for_refund_sent(stack, admin, order_id: str) -> dict:
    """The order's refund, once the refund workflow has asked PhonePe for it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        refunds = requests.get(f"{stack.url}/v1/admin/orders/{order_id}", headers=bearer(admin),
                               timeout=30).json()["refunds"] or []
        if refunds:
            return refunds[0]
        time.sleep(0.2)
    raise AssertionError("the refund workflow never asked PhonePe")


def test_a_refund_completed_at_phonepe_reaches_the_order_through_its_webhook(stack, seller, admin):
    _, token, body = _buy(stack, seller)
    order_id = body["order"]["order_id"]
    _pay(body, "success")
    assert _wait_for_status(stack, token, order_id, "PAID")["status"] == "PAID"
    refunded = requests.post(f"{stack.url}/v1/admin/orders/{order_id}/refund", timeout=60,
                             json={"amount_paise": body["total_paise"], "reason": "customer changed their mind"},
                             headers={**bearer(admin), "Idempotency-Key": f"refund-{order_id}"})
    assert refunded.status_code == 202, refunded.text  # a pre-approved refund request: the workflow sends it
    refund = _wait_for_refund_sent(stack, admin, order_id)

    # PhonePe settles the refund; only its webhook (re-confirmed by the worker) tells Bazaar.
    _sandbox(stack, f"/refunds/{refund['merchant_refund_id']}/outcome", {"outcome": "completed"})

    order = _wait_for_status(stack, token, order_id, "REFUNDED")
    assert order["status"] == "REFUNDED"
    assert _statuses(order["history"])[-1] == "REFUNDED"
