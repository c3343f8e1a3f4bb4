"""AWS failing under the functions, on a local stack of this module's own, through the fault proxy
in front of moto (infra/local/aws_faults.py): requests fail cleanly (503 SERVICE_UNAVAILABLE with
Retry-After in the envelope, never a stack trace) and leave nothing half-done, queued work is
retried once the fault clears, and nothing is lost or done twice (counted at the sandboxes, in the
tables and on the DLQs).

The stack's own pollers and the test's boto3 clients call moto directly: the faults hit the
functions' calls only. The queues' visibility timeouts are cut to a few seconds here, so a
message a worker failed on comes back within the test rather than after minutes."""

from __future__ import annotations

import uuid

import pytest
import requests

from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer
from tests.faults.controls import reset_around
from tests.mailbox import sent_mail
from tests.paid_orders import PaidOrders
from tests.shop import Shopper, assert_balanced, checkout, create_product, new_account_token, stock_level
from tests.waiting import queues_drained, until

pytestmark = pytest.mark.slow

# Every queue a test here waits on or counts: an earlier test's DynamoDB fault can leave a message
# in flight on any of them, and at the description's minutes-long visibility timeouts it would come
# back only after a later test had given up waiting for the queue to drain.
RETRIED_QUEUES = ("payment-events", "shipments", "notifications", "order-notifications")
REDELIVERY_SECONDS = 2


class Faults:
    """The stack's fault proxy control API (GET/POST /_faults, POST /_faults/reset)."""

    def __init__(self, stack: LocalStack):
        assert stack.aws_faults is not None, "the stack's fault proxy is off"
        self.url = f"{stack.aws_faults.endpoint}/_faults"

    def inject(self, **spec) -> dict:
        answer = requests.post(self.url, json=spec, timeout=5)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def failed(self, fault: dict) -> int:
        """How many calls the fault has failed (0 once it is over and gone: read it while it lasts)."""
        found = [f for f in requests.get(self.url, timeout=5).json()["faults"] if f["id"] == fault["id"]]
        return found[0]["failed"] if found else 0

    def calls(self, service: str, operation: str) -> int:
        return requests.get(self.url, timeout=5).json()["calls"].get(service, {}).get(operation, 0)

    def reset(self) -> None:
        requests.post(f"{self.url}/reset", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("aws-faults-state"))).start()
    sqs = running.client("sqs")
    for queue in RETRIED_QUEUES:
        sqs.set_queue_attributes(QueueUrl=running.names.queue_url(queue),
                                 Attributes={"VisibilityTimeout": str(REDELIVERY_SECONDS)})
    yield running
    running.stop()


@pytest.fixture
def faults(stack):
    yield from reset_around(Faults(stack))


def assert_clean_503(response: requests.Response) -> dict:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["request_id"] == response.headers["X-Request-Id"]
    for leak in ("Traceback", "Exception", "botocore", "Throttling", "dynamodb"):
        assert leak not in response.text
    return error


def dlq_depth(stack, queue: str) -> int:
    url = stack.names.queue_url(stack.service.queue(queue).dlq_name)
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


# This module's first test: no function has read a secret yet, as after a cold start.
def test_secrets_manager_unavailable_at_cold_start_is_a_clean_503_and_then_recovers(stack, faults):
    # The product list signs its cursors with the app-keys secret, read on first use.
    fault = faults.inject(service="secretsmanager", operation="GetSecretValue", kind="unavailable")

    assert_clean_503(requests.get(f"{stack.url}/v1/products", timeout=30))
    assert faults.failed(fault) > 0
    faults.reset()

    assert requests.get(f"{stack.url}/v1/products", timeout=30).status_code == 200


@pytest.mark.parametrize(("kind", "table"), [
    ("throttling", "stock"), ("provisioned-throughput", "stock"), ("5xx", "orders"), ("unavailable", "idempotency"),
])
def test_checkout_while_dynamodb_fails_is_a_clean_503_that_changes_nothing_and_can_be_retried(
        stack, faults, kind, table):
    seller, _ = new_account_token(stack, "seller")
    shopper, _ = new_account_token(stack, "customer")
    product = create_product(stack.url, seller, [5], title=f"Lamp {uuid.uuid4().hex[:6]}")
    variant = product["variants"][0]["variant_id"]
    before = stock_level(stack, variant)
    key = uuid.uuid4().hex

    fault = faults.inject(service="dynamodb", kind=kind, resource=table)
    refused = checkout(stack.url, shopper, [(product, 0, 2)], key=key)

    assert_clean_503(refused)
    assert faults.failed(fault) > 0
    assert assert_balanced(stack, variant) == before  # nothing locked, nothing sold
    faults.reset()
    # The same request again (same Idempotency-Key): the failed attempt left nothing in its way.
    placed = checkout(stack.url, shopper, [(product, 0, 2)], key=key)
    assert placed.status_code == 201, placed.text
    assert assert_balanced(stack, variant)["locked"] == before["locked"] + 2


def test_a_brief_throttle_is_absorbed_by_the_sdks_retries(stack, faults):
    seller, _ = new_account_token(stack, "seller")
    shopper, _ = new_account_token(stack, "customer")
    product = create_product(stack.url, seller, [5], title=f"Lamp {uuid.uuid4().hex[:6]}")
    writes_before = faults.calls("dynamodb", "TransactWriteItems")
    faults.inject(service="dynamodb", operation="TransactWriteItems", kind="throttling", resource="stock", count=2)

    placed = checkout(stack.url, shopper, [(product, 0, 1)])

    assert placed.status_code == 201, placed.text
    # The two refused attempts and the one that went through, at least.
    assert faults.calls("dynamodb", "TransactWriteItems") - writes_before >= 3
    assert assert_balanced(stack, product["variants"][0]["variant_id"])["locked"] == 1


class Purchase:
    """One order checked out over HTTP, to be paid on the PhonePe sandbox."""

    def __init__(self, stack):
        self.stack = stack
        seller, _ = new_account_token(stack, "seller")
        self.shopper, _ = new_account_token(stack, "customer")
        self.product = create_product(stack.url, seller, [3], price_paise=49_900,
                                      title=f"Kettle {uuid.uuid4().hex[:6]}")
        placed = checkout(stack.url, self.shopper, [(self.product, 0, 1)])
        assert placed.status_code == 201, placed.text
        self.order_id = placed.json()["order"]["order_id"]

    def pay(self) -> None:
        requests.post(f"{self.stack.sandbox('phonepe').url}/_sandbox/orders/{self.order_id}/outcome",
                      json={"outcome": "success"}, timeout=10).raise_for_status()

    def status(self) -> str:
        answer = requests.get(f"{self.stack.url}/v1/orders/{self.order_id}", headers=bearer(self.shopper), timeout=30)
        return answer.json()["status"] if answer.status_code == 200 else f"answered {answer.status_code}"

    def webhook_results(self) -> list[dict]:
        deliveries = requests.get(f"{self.stack.sandbox('phonepe').url}/_sandbox/webhooks", timeout=5).json()
        return [r for d in deliveries["deliveries"] if d["label"].endswith(self.order_id) for r in d["results"]]

    def shipments_at_shiprocket(self) -> list[dict]:
        state = requests.get(f"{self.stack.sandbox('shiprocket').url}/_sandbox/state",
                             params={"channel_order_id": self.order_id}, timeout=5).json()
        return state["orders"]

    def assert_paid_and_shipped_once(self) -> None:
        until(lambda: len(self.shipments_at_shiprocket()) >= 1, seconds=90)
        until(lambda: queues_drained(self.stack, *RETRIED_QUEUES), seconds=60)
        assert len(self.shipments_at_shiprocket()) == 1
        assert self.status() not in ("PAYMENT_PENDING", "CANCELLED")
        level = assert_balanced(self.stack, self.product["variants"][0]["variant_id"])
        assert level["sold"] == 1 and level["locked"] == 0
        assert {q: dlq_depth(self.stack, q) for q in RETRIED_QUEUES} == dict.fromkeys(RETRIED_QUEUES, 0)


def test_payment_events_and_shipments_wait_out_a_dynamodb_outage_and_are_applied_once(stack, faults):
    purchase = Purchase(stack)
    worker = stack.runtimes["payments-events-worker"]
    invocations_before = worker.invocations

    # The orders table refuses the workers' reads and writes for a while.
    fault = faults.inject(service="dynamodb", kind="5xx", resource="orders", seconds=3 * REDELIVERY_SECONDS + 2)
    purchase.pay()
    # The webhook only queues (no table), so it is accepted; the payments worker then fails and
    # its message comes back after the visibility timeout, until the fault is over.
    until(lambda: purchase.webhook_results(), seconds=30)
    assert [r["status"] for r in purchase.webhook_results()] == [200]
    until(lambda: faults.failed(fault) > 0, seconds=30)

    purchase.assert_paid_and_shipped_once()
    assert worker.invocations - invocations_before >= 2  # failed during the outage, then applied


def test_paying_and_shipping_through_sporadic_throttling_applies_each_once(stack, faults):
    purchase = Purchase(stack)
    # Most DynamoDB calls of every function are throttled for a while: some get through after
    # the SDK's retries, some fail their invocation halfway and are redelivered.
    throttle = faults.inject(service="dynamodb", kind="throttling", probability=0.8,
                             seconds=4 * REDELIVERY_SECONDS)
    purchase.pay()
    until(lambda: faults.failed(throttle) > 0, seconds=30)

    purchase.assert_paid_and_shipped_once()


def test_sqs_unavailable_when_the_webhook_enqueues_answers_5xx_and_the_retry_is_applied_once(stack, faults):
    purchase = Purchase(stack)
    # Every attempt of one webhook invocation (the SDK's own retries included) finds SQS down.
    faults.inject(service="sqs", operation="SendMessage", kind="unavailable", resource="payment-events",
                  count=4)

    purchase.pay()

    results = until(lambda: [r for r in purchase.webhook_results() if r.get("status") == 200] and
                    purchase.webhook_results(), seconds=30)
    statuses = [r.get("status") for r in results]
    assert statuses[0] == 503 and statuses[-1] == 200, statuses  # PhonePe delivered it again
    purchase.assert_paid_and_shipped_once()


def test_ses_throttling_is_retried_through_the_notifications_queue_and_the_mail_goes_once(stack, faults):
    shopper = Shopper(stack, "Kavya Menon")
    shop = PaidOrders(stack, customer=(shopper.token, shopper.user_id))
    # Six refusals: each invocation's SDK tries three times, so two invocations fail and SQS
    # redelivers before the third gets through.
    faults.inject(service="ses", kind="throttling", count=6)

    order = shop.new(1)

    def payment_mails() -> list[dict]:
        return [m for m in sent_mail(stack.aws_endpoint, shopper.email) if m["subject"] == "Payment received"]

    [mail] = until(payment_mails, 90)
    assert order["order_id"] in mail["body"]
    assert sum(requests.get(faults.url, timeout=5).json()["calls"].get("ses", {}).values()) >= 7
    answer = requests.get(f"{stack.url}/v1/me/notifications", headers=bearer(shopper.token), timeout=30)
    [entry] = [i for i in answer.json()["items"] if i["kind"] == "order_paid"]
    assert entry["deliveries"]["email"]["state"] == "sent", entry
    until(lambda: queues_drained(stack, "notifications", "order-notifications"), 60)
    assert len(payment_mails()) == 1
    assert dlq_depth(stack, "notifications") == 0
