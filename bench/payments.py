"""Benchmark (prints, asserts nothing): what confirming a PhonePe payment costs, against a local
stack this script starts and stops itself (PhonePe v2 sandbox).

    make bench-payments            # or: python bench/payments.py [--orders 20]

1. Checkout over HTTP with BAZAAR_COUNT_AWS_CALLS=true: DynamoDB round trips per checkout (the
   catalogue read, one transaction for the locks, order, payment record and Idempotency-Key,
   the response stored for the key), read from the X-Bazaar-Aws-Calls header.
2. Webhook to PAID over the whole twin (pay page -> sandbox webhook -> gateway -> queue -> worker
   -> status API -> order): wall time from the shopper's "pay" to the order reading PAID.
3. One confirmation, measured in this process through the worker's own use case
   (bazaar.orders.settlement.apply_payment_event with the real adapters on the stack's moto and the sandbox's
   status API): DynamoDB and SQS round trips for the first confirmation and for a duplicate.
   The sandbox drops these orders' webhooks so the stack's worker does not settle them first."""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.description import SERVICE  # noqa: E402
from infra.local.stack import LocalConfig, LocalStack  # noqa: E402
from tests.shop import ADDRESS, create_product, new_account_token  # noqa: E402

# The most DynamoDB round trips each may cost.
TARGETS = {"checkout": 3, "first confirmation": 3, "duplicate": 1}


def against(label: str, worst: int) -> str:
    target = TARGETS[label]
    return f"target <= {target}: {'meets' if worst <= target else 'MISSES'}"


def _calls(response: requests.Response) -> dict[str, int]:
    return {k: int(v) for k, v in (p.split("=") for p in response.headers.get("X-Bazaar-Aws-Calls", "").split(",") if "=" in p)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20)
    args = parser.parse_args()

    service = dataclasses.replace(SERVICE, settings={**SERVICE.settings, "BAZAAR_COUNT_AWS_CALLS": "true"})
    config = LocalConfig.for_tests(Path(tempfile.mkdtemp(prefix="bench-payments-")))
    with LocalStack(config, service) as stack:
        next(p for p in stack.pollers if p.trigger.queue == "shipments").stop()  # nobody ships here
        api, sandbox = stack.url, stack.sandbox("phonepe")
        seller, _ = new_account_token(stack, "seller")
        product = create_product(api, seller, [10_000], title="Bench Phone")
        # Several shoppers, so the per-customer lock cap (20 units) never binds on unpaid orders.
        shoppers = [new_account_token(stack, "customer")[0] for _ in range(4)]
        turn = iter(range(10**6))

        def buy() -> tuple[dict, requests.Response]:
            shopper = shoppers[next(turn) % len(shoppers)]
            body = {"items": [{"product_id": product["product_id"], "variant_id": product["variants"][0]["variant_id"],
                               "quantity": 1}], "shipping_address": ADDRESS}
            response = requests.post(f"{api}/v1/checkout", json=body, timeout=60,
                                     headers={"Authorization": f"Bearer {shopper}", "Idempotency-Key": uuid.uuid4().hex})
            assert response.status_code == 201, response.text
            return response.json(), response

        buy()  # warm the checkout instance and the PhonePe token
        checkouts = [buy() for _ in range(args.orders)]
        dynamo = [_calls(r).get("dynamodb", 0) for _, r in checkouts]
        report(f"checkout: {len(dynamo)} orders, DynamoDB round trips per checkout: "
               f"min {min(dynamo)}, median {statistics.median(dynamo)}, max {max(dynamo)}, "
               f"{against('checkout', max(dynamo))} (catalogue read; one transaction for locks + hold + order + "
               f"history + OrderPlaced + payment record + Idempotency-Key claim; the response stored for the key)")

        latencies = []
        for body, response in checkouts:
            order_id = body["order"]["order_id"]
            shopper = response.request.headers["Authorization"].removeprefix("Bearer ")
            started = time.perf_counter()
            requests.post(body["payment"]["redirect_url"], data={"outcome": "success"}, allow_redirects=False, timeout=10)
            while requests.get(f"{api}/v1/orders/{order_id}", headers={"Authorization": f"Bearer {shopper}"},
                               timeout=10).json()["status"] != "PAID":
                time.sleep(0.02)
            latencies.append((time.perf_counter() - started) * 1000)
        report(f"pay -> PAID through webhook, queue and worker (poll every 20 ms): "
              f"p50 {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms over {len(latencies)} orders")

        _confirmation_round_trips(stack, sandbox, buy, args.orders)
    # The functions log to this terminal too: the figures come last, together.
    print("\n== bench-payments ==")
    for line in LINES:
        print(line)


LINES: list[str] = []


def report(line: str) -> None:
    LINES.append(line)


def _confirmation_round_trips(stack, sandbox, buy, count: int) -> None:
    from bazaar.orders.adapters.dynamodb import DynamoDbOrderBook
    from bazaar.payments.adapters import phonepe_provider
    from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
    from bazaar.payments.config import PhonePeCredentials, load_phonepe_settings
    from bazaar.payments.domain import PaymentEvent, PaymentEventKind
    from bazaar.orders.settlement import Settler, apply_payment_event
    from bazaar.platform.aws import RoundTrips

    names = stack.names
    secret = json.loads(stack.client("secretsmanager").get_secret_value(SecretId=names.secret_id("phonepe"))["SecretString"])
    phonepe = load_phonepe_settings({"PHONEPE_API_VERSION": "v2", **sandbox.settings})
    provider = phonepe_provider(phonepe, PhonePeCredentials(**secret))
    counter = RoundTrips()
    dynamodb = counter.watch(stack.client("dynamodb"))
    settler = Settler(
        orders=DynamoDbOrderBook(dynamodb, names.table_name("orders"), names.table_name("stock"),
                                 events_table=names.table_name("order-events"), history_retention=timedelta(days=400)),
        records=DynamoDbPaymentRecords(dynamodb, names.table_name("orders")),
        plan=phonepe.status_check_plan(), clock=lambda: datetime.now(UTC),
    )
    requests.post(f"{sandbox.url}/_sandbox/scenarios", json={"drop_webhooks": count}, timeout=5).raise_for_status()
    first, duplicate = [], []
    for _ in range(count):
        body, _ = buy()
        order_id = body["order"]["order_id"]
        requests.post(f"{sandbox.url}/_sandbox/orders/{order_id}/outcome", json={"outcome": "success"},
                      timeout=5).raise_for_status()
        event = PaymentEvent(api_version="v2", kind=PaymentEventKind.ORDER_COMPLETED, provider_event="checkout.order.completed",
                             merchant_order_id=order_id, state="COMPLETED", amount_paise=body["total_paise"],
                             received_at=datetime.now(UTC), payload_sha256="0" * 64)
        for bucket in (first, duplicate):
            counter.reset()
            outcome = apply_payment_event(event, provider, settler)
            bucket.append((outcome.settlement.value, dict(counter.counts)))
    for label, runs in (("first confirmation", first), ("duplicate", duplicate)):
        outcomes = {o for o, _ in runs}
        dynamo = [c.get("dynamodb", 0) for _, c in runs]
        sends = [c.get("sqs", 0) for _, c in runs]
        report(f"{label}: outcome {sorted(outcomes)}, DynamoDB round trips median {statistics.median(dynamo)} "
               f"(max {max(dynamo)}), {against(label, max(dynamo))}, SQS sends {statistics.median(sends)}, "
               f"plus 1 PhonePe status call")
    report("first confirmation = payment record get, order query, one PAID transaction (order + history + stock + "
           "OrderPaid event + payment record closed); the shipment follows from the event; a duplicate reads the "
           "record only")


if __name__ == "__main__":
    main()
