"""Benchmark (prints, asserts nothing): what paying a seller costs, against a local stack this
script starts and stops itself (return window 0 days; the RazorpayX sandbox settles a payout
0.2 s after it is made).

    make bench-payouts             # or: python bench/payouts.py [--sellers 16]

1. Throughput over the whole twin: N sellers, each with one delivered, settled order and a payout
   account; the daily payout run is fired once; wall time until every payout reads `completed`
   (schedule -> payouts queue -> processor -> RazorpayX sandbox -> signed webhook -> gateway ->
   queue -> webhook worker). Payouts per second = N / that time.
2. Round trips of one payout, measured in this process through the use cases with the real
   adapters on the stack's moto and the sandbox (the stack's processor and webhook worker are
   stopped for it): DynamoDB and SQS requests to make the payout, to send it, and to apply each
   webhook; RazorpayX calls from the sandbox's own log."""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.description import SERVICE  # noqa: E402
from infra.local.stack import LocalConfig, LocalStack  # noqa: E402
from tests.conftest import login  # noqa: E402
from tests.payees import Seller  # noqa: E402

LINES: list[str] = []


def report(line: str) -> None:
    LINES.append(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sellers", type=int, default=16)
    args = parser.parse_args()
    service = dataclasses.replace(SERVICE, settings={**SERVICE.settings, "RETURN_WINDOW_DAYS": "0"})
    config = LocalConfig.for_tests(Path(tempfile.mkdtemp(prefix="bench-payouts-")))
    with LocalStack(config, service) as stack:
        admin = login(stack.url, **stack.accounts["admin"])["access_token"]
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            sellers = list(pool.map(lambda _: _ready_seller(stack, admin), range(args.sellers + 1)))
        sellers[0].settle()
        report(f"setup: {len(sellers)} sellers with one delivered, settled order each in "
               f"{time.perf_counter() - started:.1f} s")
        measured, others = sellers[0], sellers[1:]
        # The measured seller is held through the run, so the run pays only the others.
        measured.admin_post(f"/v1/admin/payees/{measured.user_id}/hold", {"role": "seller", "reason": "bench"})
        _throughput(stack, others)
        measured.admin_post(f"/v1/admin/payees/{measured.user_id}/release", {"role": "seller", "reason": "bench"})
        _round_trips(stack, measured)
    print("\n== bench-payouts ==")
    for line in LINES:
        print(line)


def _ready_seller(stack, admin: str) -> Seller:
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order()
    return seller


def _throughput(stack, sellers: list[Seller]) -> None:
    started = time.perf_counter()
    run = requests.post(f"{stack.url}/_local/schedules/payouts-daily/run", timeout=300)
    assert run.status_code == 200, run.text
    made = time.perf_counter() - started
    pending = {s.user_id: s for s in sellers}
    while pending:
        for user_id, seller in list(pending.items()):
            if any(p["status"] == "completed" for p in seller.payouts()):
                del pending[user_id]
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    report(f"throughput: {len(sellers)} payouts made by one run in {made:.2f} s and all completed in "
           f"{elapsed:.2f} s: {len(sellers) / elapsed:.1f} payouts/s end to end on the local twin "
           "(one processor record per invocation, up to 4 instances; RazorpayX asks for at most 5-10 calls/s)")


def _round_trips(stack, seller: Seller) -> None:
    from bazaar.orders.adapters.dynamodb import DynamoDbOrderBook
    from bazaar.payouts.adapters.dynamodb import DynamoDbLedger, DynamoDbPayouts
    from bazaar.payouts.adapters.razorpayx import RazorpayX, RazorpayXCredentials
    from bazaar.payouts.adapters.sqs import SqsPayoutJobs
    from bazaar.payouts.domain import PayoutTrigger
    from bazaar.payouts.services import Earnings, PayoutPolicy, follow_provider, request_payout, send_payout
    from bazaar.payouts.webhooks import PayoutWebhook
    from bazaar.platform.aws import RoundTrips
    from bazaar.platform.ids import new_id
    from bazaar.money import Paise

    for poller in stack.pollers:
        if poller.trigger.queue in ("payouts", "payout-webhooks"):
            poller.stop()
    names, sandbox = stack.names, stack.sandbox("razorpayx")
    secret = json.loads(stack.client("secretsmanager").get_secret_value(
        SecretId=names.secret_id("razorpayx"))["SecretString"])
    counter = RoundTrips()
    dynamodb, sqs = counter.watch(stack.client("dynamodb")), counter.watch(stack.client("sqs"))
    kit = Earnings(
        ledger=DynamoDbLedger(dynamodb, names.table_name("ledger"), names.table_name("orders"),
                              names.table_name("order-events")),
        payouts=DynamoDbPayouts(dynamodb, names.table_name("payouts"), names.table_name("ledger"),
                                names.table_name("order-events")),
        orders=DynamoDbOrderBook(dynamodb, names.table_name("orders"), names.table_name("stock"),
                                 events_table=names.table_name("order-events"), history_retention=timedelta(days=400)),
        people=None,  # type: ignore[arg-type]
        jobs=SqsPayoutJobs(sqs, names.queue_url("payouts")),
        provider=lambda: RazorpayX(sandbox.sandbox.api_url, lambda: RazorpayXCredentials(**secret)),
        policy=PayoutPolicy(timedelta(0), 1000, 200, 50, 10, Paise(1000), Paise(10_000), Paise(50_000),
                            status_poll_after=timedelta(minutes=2)),
        clock=lambda: datetime.now(UTC), new_id=new_id,
    )
    calls_before = len(_sandbox_state(sandbox)["calls"])
    counter.reset()
    payout = request_payout(f"seller:{seller.user_id}", PayoutTrigger.ADMIN, "bench", kit)
    made = dict(counter.counts)
    counter.reset()
    send_payout(payout.payout_id, kit)
    sent = dict(counter.counts)
    provider_calls = len(_sandbox_state(sandbox)["calls"]) - calls_before
    webhooks = _webhooks_when_processed(stack, sqs, payout.payout_id)
    applied = []
    for webhook in webhooks:
        counter.reset()
        follow_provider(payout.payout_id, PayoutWebhook.model_validate_json(webhook).payout, kit)
        applied.append(dict(counter.counts))
    final = kit.payouts.get(payout.payout_id)
    report(f"make a payout ({len(payout.postings)} posting): DynamoDB {made.get('dynamodb', 0)} "
           "(hold, payout account, unclaimed postings, one transaction: payout + claims + hold check + event), "
           f"SQS {made.get('sqs', 0)} (the job)")
    report(f"send it: DynamoDB {sent.get('dynamodb', 0)} (payout read, hold read, re-read and one conditional "
           f"write), RazorpayX calls {provider_calls}")
    dynamo = [a.get("dynamodb", 0) for a in applied]
    report(f"apply each of its {len(webhooks)} webhooks: DynamoDB median {statistics.median(dynamo) if dynamo else 0} "
           f"(max {max(dynamo) if dynamo else 0}): a read, and a conditional write when it is news; final status "
           f"{final.status.value if final else None}")


def _sandbox_state(sandbox) -> dict:
    return requests.get(f"{sandbox.url}/_sandbox/state", timeout=30).json()


def _webhooks_when_processed(stack, sqs, payout_id: str) -> list[str]:
    """The payout's webhooks, taken off the (unpolled) webhook queue once RazorpayX processed it."""
    deadline = time.monotonic() + 30
    bodies: list[str] = []
    url = stack.names.queue_url("payout-webhooks")
    while time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if json.loads(message["Body"])["payout"]["reference_id"] == payout_id:
                bodies.append(message["Body"])
        if any(json.loads(b)["event"] == "payout.processed" for b in bodies):
            break
    return bodies


if __name__ == "__main__":
    main()
