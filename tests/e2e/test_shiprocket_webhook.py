"""Shiprocket's side of the local twin, end to end: tracking webhooks through the local gateway
into `tracking-events`, the tracking worker re-confirming with the sandbox's track API, and the
shipments worker shipping an order from the `shipments` queue. Everything over HTTP and boto3."""

from __future__ import annotations

import json
import time

import pytest
import requests

from infra.local.pollers import QueuePoller
from tests.unit.test_shipping_services import a_request

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


def test_shipments_worker_ships_a_queued_order_through_the_sandbox(local_stack, sandbox, sqs):
    request = a_request("ord_E2E_SHIP")
    sqs.send_message(QueueUrl=local_stack.names.queue_url("shipments"), MessageBody=request.model_dump_json())
    shipped = wait_until(lambda: [o for o in sandbox.state("ord_E2E_SHIP")["orders"] if o["pickup_scheduled_date"]])
    assert len(shipped) == 1 and shipped[0]["awb"]
    assert wait_until(lambda: queue_is_empty(sqs, local_stack.names.queue_url("shipments")))


def test_scans_flow_from_sandbox_to_webhook_to_worker_which_reconfirms(local_stack, sandbox, sqs):
    # Given an order shipped by the shipments worker
    sqs.send_message(QueueUrl=local_stack.names.queue_url("shipments"),
                     MessageBody=a_request("ord_E2E_TRACK").model_dump_json())
    order = wait_until(lambda: next((o for o in sandbox.state("ord_E2E_TRACK")["orders"]
                                     if o["pickup_scheduled_date"]), None))
    assert order, "the shipments worker did not ship the order"
    # When the courier scans it up to OUT FOR DELIVERY (the sandbox posts each scan to the gateway)
    walked = requests.post(f"{sandbox.url}/_sandbox/shipments/{order['shipment_id']}/advance",
                           json={"to": "OUT FOR DELIVERY"}, timeout=120).json()
    # Then every webhook was accepted with Shiprocket's x-api-key...
    assert [d["status"] for d in walked["deliveries"]] == [200] * 6
    # ...and the tracking worker asked the track API about that AWB for each of them
    track_path = f"/courier/track/awb/{order['awb']}"
    tracked = wait_until(lambda: len([c for c in sandbox.state()["calls"] if c["path"] == track_path]) >= 6)
    assert tracked
    # ...and succeeded: a failed record would stay in flight (not visible) until its retry.
    assert wait_until(lambda: queue_is_empty(sqs, local_stack.names.queue_url("tracking-events")))


def queue_is_empty(sqs, url) -> bool:
    counts = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
