"""The PhonePe webhook through the local gateway (function URL event), the way PhonePe calls it:
forged or malformed calls are refused, genuine ones are queued (boto3 against moto shows the
message) and answered 200, duplicates included; the sandbox's own webhooks flow end to end."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from infra.local.pollers import QueuePoller


@pytest.fixture(scope="module")
def phonepe_secret(local_stack) -> dict:
    manager = local_stack.client("secretsmanager")
    return json.loads(manager.get_secret_value(SecretId=local_stack.names.secret_id("phonepe"))["SecretString"])


@pytest.fixture(scope="module")
def hook(api) -> str:
    return f"{api}/webhooks/phonepe"


def _poller(local_stack) -> QueuePoller:
    return next(p for p in local_stack.pollers if p.trigger.queue == "payment-events")


@pytest.fixture
def held_queue(local_stack):
    """Stops the payment-events worker's poller so the test can read the queue itself; a new
    poller (same settings) takes over afterwards."""
    old = _poller(local_stack)
    old.stop()
    sqs, url = local_stack.client("sqs"), local_stack.names.queue_url("payment-events")
    _drain(sqs, url)
    yield sqs, url
    _drain(sqs, url)
    new = QueuePoller(old.sqs, old.queue_url, old.queue_arn, old.function, old.trigger, old.runtime,
                      log=old.log, wait_seconds=old.wait_seconds)
    new.start()
    local_stack.pollers[local_stack.pollers.index(old)] = new


def _drain(sqs, url) -> list[dict]:
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(batch)])


def _authorization(secret: dict) -> str:
    return hashlib.sha256(f"{secret['webhook_username']}:{secret['webhook_password']}".encode()).hexdigest()


def _v2_body(secret: dict, order_id: str = "ord_e2e", amount: int = 2500, event: str = "checkout.order.completed", **payload) -> bytes:
    return json.dumps({"type": "CHECKOUT_ORDER_COMPLETED", "event": event, "payload": {
        "merchantId": secret["merchant_id"], "merchantOrderId": order_id, "orderId": "OMO1", "state": "COMPLETED",
        "amount": amount, "expireAt": 1, "metaInfo": None, "paymentDetails": [], **payload}}).encode()


def _post(hook: str, body: bytes, headers: dict, query: str = "") -> requests.Response:
    return requests.post(hook + query, data=body, headers={"Content-Type": "application/json", **headers}, timeout=30)


def test_forged_and_malformed_calls_are_refused_and_never_queued(hook, phonepe_secret, held_queue):
    sqs, url = held_queue
    body = _v2_body(phonepe_secret)
    forged = _post(hook, body, {"Authorization": hashlib.sha256(b"someone:guessing").hexdigest()})
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "UNAUTHORIZED" and forged.json()["error"]["request_id"]
    assert phonepe_secret["webhook_password"] not in forged.text
    assert _post(hook, body, {}).status_code == 401
    other_merchant = _v2_body(phonepe_secret, merchantId="SOMEONEELSE")
    assert _post(hook, other_merchant, {"Authorization": _authorization(phonepe_secret)}).status_code == 401
    malformed = _post(hook, b"{not json", {"Authorization": _authorization(phonepe_secret)})
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "BAD_REQUEST"
    too_big = _post(hook, _v2_body(phonepe_secret, padding="x" * 70_000), {"Authorization": _authorization(phonepe_secret)})
    assert too_big.status_code == 413
    unknown = _post(hook, _v2_body(phonepe_secret, event="subscription.paused"), {"Authorization": _authorization(phonepe_secret)})
    assert unknown.status_code == 200 and unknown.json() == {"status": "ignored"}

    response = base64.b64encode(b'{"code":"PAYMENT_SUCCESS"').decode()  # truncated JSON, correctly signed
    signed = hashlib.sha256((response + phonepe_secret["salt_key"]).encode()).hexdigest() + "###" + phonepe_secret["salt_index"]
    assert _post(hook, json.dumps({"response": response}).encode(), {"X-VERIFY": signed}).status_code == 400
    wrong_index = signed.rsplit("###", 1)[0] + "###7"
    assert _post(hook, json.dumps({"response": response}).encode(), {"X-VERIFY": wrong_index}).status_code == 401
    assert _drain(sqs, url) == []


def test_a_genuine_v2_webhook_is_queued_and_answered_200(hook, phonepe_secret, held_queue):
    sqs, url = held_queue
    response = _post(hook, _v2_body(phonepe_secret, "ord_one", 2500), {"Authorization": _authorization(phonepe_secret)})
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    [message] = _drain(sqs, url)
    event = json.loads(message["Body"])
    assert (event["kind"], event["merchant_order_id"], event["amount_paise"], event["api_version"]) == (
        "order.completed", "ord_one", 2500, "v2")
    assert event["payload_sha256"] == hashlib.sha256(_v2_body(phonepe_secret, "ord_one", 2500)).hexdigest()
    assert message["MessageAttributes"]["kind"]["StringValue"] == "order.completed"


def test_a_genuine_v1_callback_is_queued(hook, phonepe_secret, held_queue):
    sqs, url = held_queue
    status = {"success": True, "code": "PAYMENT_SUCCESS", "message": "ok", "data": {
        "merchantId": phonepe_secret["merchant_id"], "merchantTransactionId": "rfd_v1", "transactionId": "T1",
        "amount": 700, "state": "COMPLETED", "responseCode": "SUCCESS"}}
    response = base64.b64encode(json.dumps(status).encode()).decode()
    signed = hashlib.sha256((response + phonepe_secret["salt_key"]).encode()).hexdigest() + "###" + phonepe_secret["salt_index"]
    answer = _post(hook, json.dumps({"response": response}).encode(), {"X-VERIFY": signed}, query="?kind=refund")
    assert answer.status_code == 200
    [message] = _drain(sqs, url)
    assert json.loads(message["Body"])["kind"] == "refund.completed"
    assert json.loads(message["Body"])["merchant_refund_id"] == "rfd_v1"


def test_one_hundred_concurrent_duplicates_are_each_accepted(hook, phonepe_secret, held_queue):
    # Dedupe is not the webhook's job: it rests on the order's state transition, later.
    sqs, url = held_queue
    body, headers = _v2_body(phonepe_secret, "ord_dup", 9900), {"Authorization": _authorization(phonepe_secret)}
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: _post(hook, body, headers).status_code, range(100)))
    assert statuses == [200] * 100
    messages = _drain(sqs, url)
    assert len(messages) == 100
    assert {json.loads(m["Body"])["merchant_order_id"] for m in messages} == {"ord_dup"}


def test_a_payment_on_the_sandbox_is_announced_queued_and_confirmed_by_the_worker(local_stack, phonepe_secret):
    from bazaar.payments.adapters import phonepe_provider
    from bazaar.payments.config import PhonePeCredentials, PhonePeSettings

    sandbox = local_stack.sandbox("phonepe")
    settings = PhonePeSettings.model_validate({"PHONEPE_API_VERSION": "v2", **sandbox.settings})
    client = phonepe_provider(settings, PhonePeCredentials(**phonepe_secret))
    order_id = f"ord_flow_{time.time_ns()}"
    client.create_payment(order_id, 31_400, "https://bazaar.example/return", "https://unused.example")
    worker = local_stack.runtimes["payments-events-worker"]
    invocations_before = worker.invocations

    requests.post(f"{sandbox.url}/_sandbox/orders/{order_id}/outcome", json={"outcome": "success"}, timeout=5).raise_for_status()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.invocations == invocations_before:
        time.sleep(0.2)
    deliveries = requests.get(f"{sandbox.url}/_sandbox/webhooks", timeout=5).json()["deliveries"]
    ours = [d for d in deliveries if d["label"].endswith(order_id)]
    assert ours and ours[0]["results"][0]["status"] == 200
    assert worker.invocations > invocations_before
    # The worker confirmed it (a refusal would have left the message in flight for 180 s).
    # The poller deletes a record just after the invocation returns, so give it a moment.
    sqs, url = local_stack.client("sqs"), local_stack.names.queue_url("payment-events")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + 10
    while True:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if set(attributes.values()) == {"0"} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
