"""A function's instance killed at each step of the money path, on one local stack of this module's
own: the local twin arms a named crash point (bazaar.platform.faults, armed over
/_local/crash-points), the first instance to reach it dies there with exit status 137, and the
runtime answers as Lambda does for a dead instance (a 5xx to the API's caller, an error that leaves
the SQS batch for redelivery). Then the ordinary retries run: the shopper's retry, PhonePe's webhook
redelivery, SQS redelivery after the (here shortened) visibility timeout. What each test asserts is
read at the providers' sandboxes (how many payments, shipments, payouts exist for the order) and in
the tables with boto3 (stock, ledger, the order's events and who consumed them).

docs/faults.md lists the points and what each proves."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import requests

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer, login
from tests.faults.controls import reset_around
from tests.mailbox import sent_mail
from tests.paid_orders import PaidOrders
from tests.payees import PRICE, Control, Seller, assert_balanced as assert_ledger_balanced
from tests.shop import Shopper, assert_balanced, checkout, stock_level
from tests.waiting import a_poll_began, queues_drained, until

pytestmark = pytest.mark.slow

# Redelivered within a test rather than minutes later.
REDELIVERED_QUEUES = ("payment-events", "shipments", "payouts")
REDELIVERY_SECONDS = 2
# A checkout whose instance died holds its Idempotency-Key for the function's timeout (Lambda's
# deadline): short here, so the shopper's retry is taken within seconds.
CHECKOUT_TIMEOUT_SECONDS = 6


def crash_service():
    functions = tuple(dataclasses.replace(f, timeout_seconds=CHECKOUT_TIMEOUT_SECONDS) if f.name == "checkout-api" else f
                      for f in SERVICE.functions)
    # The return window is 0 days (the settlement schedule, fired by hand, decides it has passed);
    # the status poll asks about every open payout at once.
    settings = {**SERVICE.settings, "RETURN_WINDOW_DAYS": "0", "PAYOUT_STATUS_POLL_AFTER_SECONDS": "0"}
    return dataclasses.replace(SERVICE, functions=functions, settings=settings)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("crash-points-state")), crash_service()).start()
    sqs, names = running.client("sqs"), running.names
    assert names is not None
    for queue in REDELIVERED_QUEUES:
        sqs.set_queue_attributes(QueueUrl=names.queue_url(queue),
                                 Attributes={"VisibilityTimeout": str(REDELIVERY_SECONDS)})
    for queue in REDELIVERED_QUEUES:
        a_poll_began(running, queue)  # a long poll already waiting used the old value
    yield running
    running.stop()


class CrashPoints:
    """The twin's control: arm a point (for one function), see which fired."""

    def __init__(self, stack: LocalStack):
        self.url = f"{stack.url}/_local/crash-points"

    def arm(self, point: str, function: str) -> None:
        answer = requests.post(self.url, json={"point": point, "function": function}, timeout=10)
        assert answer.status_code == 201, answer.text

    def fired(self) -> list[str]:
        return requests.get(self.url, timeout=10).json()["fired"]

    def armed(self) -> dict:
        return requests.get(self.url, timeout=10).json()["armed"]

    def reset(self) -> None:
        requests.post(f"{self.url}/reset", timeout=10).raise_for_status()


@pytest.fixture
def crash(stack):
    yield from reset_around(CrashPoints(stack))


@pytest.fixture(scope="module")
def shop(stack):
    return PaidOrders(stack)


@pytest.fixture(scope="module")
def admin(stack) -> str:
    return login(stack.url, **stack.accounts["admin"])["access_token"]


# -- what the providers and the tables say -------------------------------------------------------


def phonepe_payment(stack, order_id: str) -> dict | None:
    """PhonePe's order for a Bazaar order (its merchant order id is the order id), None if never asked."""
    answer = requests.get(f"{stack.sandbox('phonepe').url}/_sandbox/orders/{order_id}", timeout=10)
    return answer.json() if answer.status_code == 200 else None


def charged(stack, order_ids: list[str]) -> list[str]:
    return [o for o in order_ids if (phonepe_payment(stack, o) or {}).get("state") == "COMPLETED"]


def customer_orders(stack, token: str) -> list[dict]:
    answer = requests.get(f"{stack.url}/v1/orders", headers=bearer(token), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def shiprocket_orders(stack, order_id: str) -> list[dict]:
    state = requests.get(f"{stack.sandbox('shiprocket').url}/_sandbox/state",
                         params={"channel_order_id": order_id}, timeout=10).json()
    return state["orders"]


def order_events(stack, order_id: str, event_type: str) -> list[dict]:
    items = stack.client("dynamodb").query(
        TableName=stack.names.table_name("order-events"), ConsistentRead=True,
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": f"ORDER#{order_id}"}},
    )["Items"]
    return [i for i in items if i["event_type"]["S"] == event_type]


def consumed_by_order_metrics(stack, event_id: str) -> bool:
    item = stack.client("dynamodb").get_item(
        TableName=stack.names.table_name("ops"), ConsistentRead=True,
        Key={"pk": {"S": "INBOX#order-metrics"}, "sk": {"S": event_id}},
    )
    return "Item" in item


def history(stack, shop: PaidOrders, order_id: str) -> list[str]:
    return [entry["to_status"] for entry in shop.customer_view(order_id)["history"]]


def pay_at_phonepe(stack, order_id: str) -> None:
    requests.post(f"{stack.sandbox('phonepe').url}/_sandbox/orders/{order_id}/outcome", json={"outcome": "success"},
                  timeout=10).raise_for_status()


def assert_paid_once_and_shipped_once(stack, shop: PaidOrders, order: dict, quantity: int, sold_before: int) -> None:
    """The invariants after a payment: charged once, PAID once with one OrderPaid, that event
    consumed, one shipment at Shiprocket, the stock sold once and balanced."""
    order_id = order["order_id"]
    until(lambda: shop.customer_view(order_id)["status"] == "SHIPMENT_CREATED", 90)
    # Whatever a dead instance left on a queue has come back and been handled before anything is counted.
    until(lambda: queues_drained(stack, "payment-events", "shipments"), 60)
    assert charged(stack, [order_id]) == [order_id]
    assert history(stack, shop, order_id).count("PAID") == 1
    paid_events = order_events(stack, order_id, "OrderPaid")
    assert len(paid_events) == 1, paid_events
    until(lambda: consumed_by_order_metrics(stack, paid_events[0]["event_id"]["S"]), 60)
    assert len(shiprocket_orders(stack, order_id)) == 1
    level = assert_balanced(stack, shop.product["variants"][0]["variant_id"])
    assert level["sold"] == sold_before + quantity, level


def sold(shop: PaidOrders) -> int:
    return stock_level(shop.stack, shop.product["variants"][0]["variant_id"])["sold"]


# -- checkout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["checkout.placed_before_payment_requested", "checkout.payment_requested_before_answer"])
def test_checkout_killed_around_the_payment_request_is_retried_by_the_shopper_and_charged_once(
        stack, crash, point):
    shop = PaidOrders(stack)  # a shopper of the test's own: their orders are the test's
    shopper = shop.customer
    variant = shop.product["variants"][0]["variant_id"]
    before = stock_level(stack, variant)
    key = uuid.uuid4().hex
    crash.arm(point, "checkout-api")

    died = checkout(stack.url, shopper, [(shop.product, 0, 2)], key=key)

    assert died.status_code >= 500, died.text
    assert point in crash.fired()
    # The shopper tries again with the same Idempotency-Key: refused while the dead attempt's
    # claim lasts (Lambda's deadline for it), then a checkout of its own.
    retried = until(lambda: (r := checkout(stack.url, shopper, [(shop.product, 0, 2)], key=key)).status_code != 409
                    and r, CHECKOUT_TIMEOUT_SECONDS + 30)
    assert retried.status_code == 201, retried.text
    order = retried.json()["order"]
    pay_at_phonepe(stack, order["order_id"])
    assert_paid_once_and_shipped_once(stack, shop, order, 2, before["sold"])
    mine = [o["order_id"] for o in customer_orders(stack, shopper)]
    assert len(mine) == 2, mine  # the dead attempt's order, awaiting payment, and the paid one
    # The dead attempt's order can never be charged: PhonePe was never asked for it, or it handed
    # its pay page to nobody; its payment is open for reconciliation and its stock is locked
    # until the hold expires (the stock-cleanup schedule gives it back).
    abandoned = next(o for o in mine if o != order["order_id"])
    assert charged(stack, mine) == [order["order_id"]]
    asked = phonepe_payment(stack, abandoned)
    if point == "checkout.placed_before_payment_requested":
        assert asked is None
    else:
        assert asked is not None and asked["state"] == "PENDING" and asked["attempts"] == 0
    assert shop.customer_view(abandoned)["status"] == "PAYMENT_PENDING"
    level = assert_balanced(stack, variant)
    assert level["locked"] == before["locked"] + 2, level


# -- payment confirmation ---------------------------------------------------------------------------


def test_webhook_killed_before_enqueue_is_delivered_again_by_phonepe_and_applied_once(stack, crash, shop):
    order = shop.checkout(2)
    before = sold(shop)
    crash.arm("payment_webhook.verified_before_enqueue", "payments-phonepe-webhook")

    pay_at_phonepe(stack, order["order_id"])

    assert_paid_once_and_shipped_once(stack, shop, order, 2, before)
    assert "payment_webhook.verified_before_enqueue" in crash.fired()
    deliveries = requests.get(f"{stack.sandbox('phonepe').url}/_sandbox/webhooks", timeout=10).json()["deliveries"]
    statuses = [r.get("status") for d in deliveries if d["label"].endswith(order["order_id"]) for r in d["results"]]
    assert statuses[0] >= 500 and statuses[-1] == 200, statuses  # refused by the dead instance, then taken


@pytest.mark.parametrize("point", ["payment_event.confirmed_before_transition", "payment.order_paid_committed"])
def test_payments_worker_killed_around_the_transition_is_redelivered_and_applied_once(stack, crash, shop, point):
    order = shop.checkout(2)
    before = sold(shop)
    crash.arm(point, "payments-events-worker")

    pay_at_phonepe(stack, order["order_id"])

    assert_paid_once_and_shipped_once(stack, shop, order, 2, before)
    assert point in crash.fired()


def feed(stack, token: str, kind: str) -> list[dict]:
    answer = requests.get(f"{stack.url}/v1/me/notifications", headers=bearer(token), timeout=30)
    assert answer.status_code == 200, answer.text
    return [item for item in answer.json()["items"] if item["kind"] == kind]


def test_dispatcher_killed_after_relaying_order_paid_hands_it_over_again_and_each_consumer_acts_once(stack, crash):
    shopper = Shopper(stack, "Meera Iyer")
    shop = PaidOrders(stack, customer=(shopper.token, shopper.user_id))
    order = shop.checkout(2)
    before = sold(shop)
    # OrderPlaced is relayed first, so the next batch the dispatcher relays is this order's OrderPaid.
    [placed] = until(lambda: order_events(stack, order["order_id"], "OrderPlaced"), 30)
    until(lambda: consumed_by_order_metrics(stack, placed["event_id"]["S"]), 60)
    crash.arm("order_events.relayed_before_acknowledged", "orders-events-dispatcher")

    pay_at_phonepe(stack, order["order_id"])

    assert_paid_once_and_shipped_once(stack, shop, order, 2, before)
    assert "order_events.relayed_before_acknowledged" in crash.fired()
    stack.wait_for_streams(60)  # the batch was handed over again and relayed: the duplicates are queued
    until(lambda: queues_drained(stack, "order-notifications", "notifications", "order-metrics", "shipments"), 60)
    mails = until(lambda: [m for m in sent_mail(stack.aws_endpoint, shopper.email) if m["subject"] == "Payment received"],
                  60)
    assert len(mails) == 1, [m["subject"] for m in mails]
    assert len(feed(stack, shopper.token, "order_paid")) == 1


# -- after PAID -----------------------------------------------------------------------------------


def test_shipments_worker_killed_after_shiprocket_made_the_shipment_records_that_one(stack, crash, shop):
    crash.arm("shipment.created_at_shiprocket", "shipments-worker")
    before = sold(shop)

    order = shop.new(1)

    assert_paid_once_and_shipped_once(stack, shop, order, 1, before)
    assert "shipment.created_at_shiprocket" in crash.fired()
    made = shiprocket_orders(stack, order["order_id"])
    assert shop.customer_view(order["order_id"])["shipment"]["shipment_id"] == made[0]["shipment_id"]


def test_payout_processor_killed_after_razorpayx_made_the_payout_records_that_one(stack, crash, admin):
    razorpayx = Control(stack.sandbox("razorpayx").url)
    seller = Seller(stack, admin)
    seller.delivered_order()
    seller.settle()
    seller.register_account()
    crash.arm("payout.created_at_razorpayx", "payouts-processor")

    requested = seller.pay_now()

    assert requested.status_code == 200, requested.text
    payout_id = requested.json()["payout_id"]
    done = seller.payout_settles(payout_id)
    until(lambda: queues_drained(stack, "payouts", "payout-webhooks"), 60)  # the dead job came back and ran
    assert "payout.created_at_razorpayx" in crash.fired()
    [at_razorpayx] = razorpayx.payouts(payout_id)  # one payout, made by the instance that died
    assert at_razorpayx["amount"] == done["amount_paise"] and at_razorpayx["status"] == "processed"
    balance = seller.balance()
    assert_ledger_balanced(balance)
    assert balance["paid_out_paise"] == done["amount_paise"] and balance["in_flight_paise"] == 0


def test_refund_workflow_killed_after_phonepe_took_the_refund_retries_the_step_and_refunds_once(stack, crash, admin):
    seller = Seller(stack, admin)
    order_id = seller.delivered_order()["order_id"]
    crash.arm("refund.sent_to_phonepe", "refunds-workflow")

    asked = seller.admin_post(f"/v1/admin/orders/{order_id}/refund", {"amount_paise": PRICE, "reason": "returned unopened"},
                              **{"Idempotency-Key": uuid.uuid4().hex})

    assert asked.status_code == 202, asked.text
    until(lambda: "refund.sent_to_phonepe" in crash.fired(), 60)
    # The workflow retries the dead step; it finds the refund PhonePe took and does not ask again.
    [refund] = until(lambda: (phonepe_payment(stack, order_id) or {}).get("refunds"), 60)
    assert refund["amount"] == PRICE
    processing = until(lambda: (r := refund_request(stack, seller, order_id))["status"] == "processing" and r, 60)
    assert processing["merchant_refund_id"] == refund["merchantRefundId"]
    requests.post(f"{stack.sandbox('phonepe').url}/_sandbox/refunds/{refund['merchantRefundId']}/outcome",
                  json={"outcome": "completed"}, timeout=10).raise_for_status()
    until(lambda: refund_request(stack, seller, order_id)["status"] == "completed", 90)
    assert len((phonepe_payment(stack, order_id) or {})["refunds"]) == 1
    assert seller.shop.customer_view(order_id)["status"] == "REFUNDED"
    assert_ledger_balanced(seller.balance(), clawback_pending=True)


def refund_request(stack, seller: Seller, order_id: str) -> dict:
    answer = requests.get(f"{stack.url}/v1/orders/{order_id}/refunds", headers=bearer(seller.shop.customer), timeout=30)
    assert answer.status_code == 200, answer.text
    [request] = answer.json()["items"]
    return request
