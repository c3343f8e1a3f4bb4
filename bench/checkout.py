"""Benchmark (prints, asserts nothing): 500 concurrent checkouts over HTTP for one variant with
50 units, against a local stack this script starts and stops itself.

    make bench-checkout            # or: python bench/checkout.py [--requests 500] [--units 50]

The stack is built from a copy of the service description with two settings changed:
STOCK_LOCK_EXPIRY_MINUTES=1 (so the locks expire within the run) and BAZAAR_COUNT_AWS_CALLS=true
(each function counts its AWS HTTP requests with a botocore `before-send` hook and reports them
in the X-Bazaar-Aws-Calls response header; that is where the DynamoDB round trips come from).
Shoppers are 25 fresh customer accounts, so the per-customer lock cap (20 units) never binds."""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.description import SERVICE  # noqa: E402
from infra.local.stack import LocalConfig, LocalStack  # noqa: E402
from tests.conftest import login  # noqa: E402
from tests.shop import ADDRESS, create_product, new_account_token, stock_level  # noqa: E402

LOCK_MINUTES = 1
# DynamoDB round trips a checkout may cost, refused or not: the catalogue read, one transaction
# (locks, order, history, event, payment record, Idempotency-Key claim) and the response stored
# for the key (a refusal's third is the stock read that names every short variant).
TARGET_ROUND_TRIPS = 3


def _dynamodb_calls(response: requests.Response) -> int | None:
    counts = dict(part.split("=") for part in response.headers.get("X-Bazaar-Aws-Calls", "").split(",") if "=" in part)
    return int(counts["dynamodb"]) if "dynamodb" in counts else None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--customers", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=8, help="Lambda instances per function")
    args = parser.parse_args()

    service = dataclasses.replace(
        SERVICE,
        settings={**SERVICE.settings, "STOCK_LOCK_EXPIRY_MINUTES": str(LOCK_MINUTES), "BAZAAR_COUNT_AWS_CALLS": "true"},
    )
    config = LocalConfig.for_tests(Path(tempfile.mkdtemp(prefix="bench-checkout-")), max_concurrency=args.concurrency)
    with LocalStack(config, service) as stack:
        api = stack.url
        seller, _ = new_account_token(stack, "seller")
        product = create_product(api, seller, [args.units], title="Bench Phone")
        variant_id = product["variants"][0]["variant_id"]
        warmup = create_product(api, seller, [1000], title="Warm-up")
        shoppers = [new_account_token(stack, "customer")[0] for _ in range(args.customers)]

        def attempt(n: int, target: dict, gate: threading.Barrier | None = None):
            body = {"items": [{"product_id": target["product_id"], "variant_id": target["variants"][0]["variant_id"],
                               "quantity": 1}], "shipping_address": ADDRESS}
            headers = {"Authorization": f"Bearer {shoppers[n % len(shoppers)]}", "Idempotency-Key": uuid.uuid4().hex}
            if gate:
                gate.wait()
            started = time.perf_counter()
            response = requests.post(f"{api}/v1/checkout", json=body, headers=headers, timeout=120)
            return response, time.perf_counter() - started

        # Warm every checkout instance (cold starts are a separate benchmark) on another product.
        with ThreadPoolExecutor(args.concurrency * 2) as pool:
            list(pool.map(lambda n: attempt(n, warmup), range(args.concurrency * 2)))
        time.sleep(3)  # let the stage's token bucket (burst 500, 200/s) refill

        gate = threading.Barrier(args.requests)
        wall = time.perf_counter()
        with ThreadPoolExecutor(args.requests) as pool:
            results = list(pool.map(lambda n: attempt(n, product, gate), range(args.requests)))
        wall = time.perf_counter() - wall

        statuses: dict[int, int] = {}
        for response, _ in results:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        latencies_ms = [seconds * 1000 for _, seconds in results]
        calls_ok = [c for r, _ in results if r.status_code == 201 and (c := _dynamodb_calls(r)) is not None]
        calls_409 = [c for r, _ in results if r.status_code == 409 and (c := _dynamodb_calls(r)) is not None]
        named = all(variant_id in r.text for r, _ in results if r.status_code == 409)
        level = stock_level(stack, variant_id)
        balanced = min(level.values()) >= 0 and level["available"] + level["locked"] + level["sold"] == level["received"]

        print(f"checkouts fired:        {args.requests} concurrent, one variant with {args.units} units, "
              f"{args.customers} customers, {args.concurrency} instances per function")
        print(f"successes (201):        {statuses.get(201, 0)}   (must be {args.units})")
        print(f"out of stock (409):     {statuses.get(409, 0)}   (every one names the variant: {named})")
        print(f"other statuses:         {sum(n for s, n in statuses.items() if s not in (201, 409))}   "
              f"(must be 0) {dict(sorted(statuses.items()))}")
        print(f"stock after the run:    {level}  invariant holds: {balanced}")
        print(f"throughput:             {args.requests / wall:.1f} checkouts/s over {wall:.2f} s")
        print(f"latency:                p50 {statistics.median(latencies_ms):.0f} ms, "
              f"p99 {_percentile(latencies_ms, 0.99):.0f} ms, max {max(latencies_ms):.0f} ms")
        def figure(calls: list[int]) -> str:
            if not calls:
                return "not reported (is BAZAAR_COUNT_AWS_CALLS on?)"
            verdict = "meets" if max(calls) <= TARGET_ROUND_TRIPS else "MISSES"
            return (f"mean {statistics.mean(calls):.2f} (min {min(calls)}, max {max(calls)}), "
                    f"target <= {TARGET_ROUND_TRIPS}: {verdict}")

        print(f"DynamoDB round trips:   per successful checkout {figure(calls_ok)}")
        print(f"                        per refused one (409)   {figure(calls_409)}")

        admin = login(api, **stack.accounts["admin"])["access_token"]
        print(f"waiting {LOCK_MINUTES * 60 + 5} s for the {LOCK_MINUTES}-minute locks to expire ...", flush=True)
        time.sleep(LOCK_MINUTES * 60 + 5)
        response = requests.post(f"{api}/v1/admin/stock-cleanup", headers={"Authorization": f"Bearer {admin}"},
                                 timeout=120)
        if response.status_code != 200:
            raise SystemExit(f"cleanup refused: {response.status_code} {response.text}")
        run = response.json()
        after = stock_level(stack, variant_id)
        print(f"cleanup run:            {run['orders_expired']} orders expired, {run['locks_released']} units "
              f"released in {run['duration_ms']} ms, errors {run['errors']}")
        print(f"stock after cleanup:    {after}  all {args.units} came back: {after['available'] == args.units}")


if __name__ == "__main__":
    main()
