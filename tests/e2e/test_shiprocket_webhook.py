"""Shiprocket's side of the local twin, end to end: tracking webhooks through the local gateway
into `tracking-events`. Shipping paid orders and applying scans to them: test_shipping_flow.py."""

from __future__ import annotations

import json
import time

import pytest
import requests

from infra.local.pollers import QueuePoller

WEBHOOK = "/webhooks/shiprocket"


def wait_until(check, seconds: float = 60.0, every: float = 0.3):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


@pytest.fixture(scope="module")
def sandbox(local_stack):
    return local_stack.sandbox("shiprocket").sandbox


@pytest.fixture(scope="module")
def secret(local_stack) -> dict:
    manager = local_stack.client("secretsmanager")
    return json.loads(manager.get_secret_value(SecretId=local_stack.names.secret_id("shiprocket"))["SecretString"])


@pytest.fixture(scope="module")
def sqs(local_stack):
    return local_stack.client("sqs")


@pytest.fixture
def tracking_worker_paused(local_stack):
    """Stops the tracking worker's poller so a test can look at what sits in the queue, then puts
    a fresh poller in its place."""
    poller = next(p for p in local_stack.pollers if p.trigger.queue == "tracking-events")
    poller.stop()
    yield poller.queue_url
    fresh = QueuePoller(poller.sqs, poller.queue_url, poller.queue_arn, poller.function, poller.trigger,
                        poller.runtime, log=poller.log, wait_seconds=poller.wait_seconds)
    fresh.start()
    local_stack.pollers[local_stack.pollers.index(poller)] = fresh


def a_scan(awb="1410000009999", status="IN TRANSIT") -> dict:
    return {"awb": awb, "courier_name": "Delhivery Surface", "current_status": status, "current_status_id": 20,
            "shipment_status": status, "shipment_status_id": 18, "current_timestamp": "23 11 2026 11:43:52",
            "order_id": "ord_E2E", "sr_order_id": 700000001, "scans": [], "is_return": 0}


def post(api, body, key=None, raw: bytes | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    return requests.post(f"{api}{WEBHOOK}", data=raw if raw is not None else json.dumps(body), headers=headers,
                         timeout=30)


def drain(sqs, queue_url) -> list[dict]:
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_forged_or_missing_key_is_401_and_nothing_is_queued(api, secret, sqs, tracking_worker_paused):
    forged = post(api, a_scan(), key="x" * len(secret["webhook_api_key"]))
    missing = post(api, a_scan())
    for response in (forged, missing):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "UNAUTHORIZED" and error["request_id"]
        assert secret["webhook_api_key"] not in response.text
    assert drain(sqs, tracking_worker_paused) == []


def test_malformed_payload_with_the_right_key_is_400(api, secret, sqs, tracking_worker_paused):
    key = secret["webhook_api_key"]
    assert post(api, None, key=key, raw=b"{not json").status_code == 400
    assert post(api, {"current_status": "IN TRANSIT"}, key=key).status_code == 400  # no awb
    assert post(api, {"awb": "123"}, key=key).status_code == 400  # no status
    assert post(api, None, key=key, raw=b"[1, 2]").status_code == 400
    assert drain(sqs, tracking_worker_paused) == []


def test_valid_webhook_is_200_and_queued_for_the_worker(api, secret, sqs, tracking_worker_paused):
    body = a_scan(awb="1410000001234")
    response = post(api, body, key=secret["webhook_api_key"])
    assert response.status_code == 200, response.text
    queued = drain(sqs, tracking_worker_paused)
    assert len(queued) == 1
    event = queued[0]
    assert event["awb"] == "1410000001234" and event["channel_order_id"] == "ord_E2E"
    assert (event["label"], event["shipment_status_id"], event["order_status_id"]) == ("IN TRANSIT", 18, 20)
    assert len(event["payload_sha256"]) == 64 and event["received_at"]


def queue_is_empty(sqs, url) -> bool:
    counts = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


@pytest.mark.parametrize("size", [70 * 1024, 2 * 1024 * 1024])
def test_a_body_over_the_limit_is_413_even_with_the_right_key_and_nothing_is_queued(api, secret, sqs,
                                                                                  tracking_worker_paused, size):
    scan = a_scan()
    scan["scans"] = [{"activity": "x" * 1000}] * (size // 1000)
    response = requests.post(f"{api}{WEBHOOK}", data=json.dumps(scan).encode(),
                             headers={"Content-Type": "application/json", "x-api-key": secret["webhook_api_key"]},
                             timeout=30)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    queued = sqs.get_queue_attributes(QueueUrl=tracking_worker_paused, AttributeNames=["ApproximateNumberOfMessages"])
    assert queued["Attributes"]["ApproximateNumberOfMessages"] == "0"
