"""Benchmark (prints, asserts nothing): what a refund costs in Step Functions, against a local
stack this script starts and stops itself (clock speed 30: the workflow's 10-minute waits take 20 s).

    make bench-refunds             # or: python bench/refunds.py

For each path (approved by an admin over the API; approved by the policy before shipment), one
refund is carried to `completed` through the PhonePe sandbox, and its execution's history is
read back: state transitions (what Standard workflows bill), Lambda task invocations, and how
many times the completion poll went round (each round is 3 transitions: Wait, task, Choice)."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.description import SERVICE  # noqa: E402
from infra.local.stack import LocalConfig, LocalStack  # noqa: E402
from tests.conftest import bearer, login  # noqa: E402
from tests.payees import Seller  # noqa: E402

LINES: list[str] = []


def main() -> None:
    service = dataclasses.replace(SERVICE, settings={**SERVICE.settings, "REFUND_AUTO_APPROVE_PAISE": "100"})
    config = LocalConfig.for_tests(Path(tempfile.mkdtemp(prefix="bench-refunds-")), clock_speed=30)
    with LocalStack(config, service) as stack:
        admin = login(stack.url, **stack.accounts["admin"])["access_token"]
        seller = Seller(stack, admin)
        _measure(stack, admin, seller, "approved by an admin", seller.delivered_order())
        requests.post(f"{stack.sandbox('shiprocket').url}/_sandbox/faults",
                  json={"kind": "5xx", "count": 1, "path": "/orders/create"},
                      timeout=10).raise_for_status()
        _measure(stack, admin, seller, "approved by the policy (before shipment)", seller.shop.new(1))
    print("\n== bench-refunds ==")
    for line in LINES:
        print(line)


def _measure(stack, admin: str, seller: Seller, label: str, order: dict) -> None:
    customer = seller.shop.customer
    asked = requests.post(f"{stack.url}/v1/orders/{order['order_id']}/refunds", json={"reason": "damaged"},
                          headers={**bearer(customer), "Idempotency-Key": uuid.uuid4().hex}, timeout=30).json()
    refund_id = asked["refund_id"]
    if asked["status"] == "requested":
        _until(lambda: _execution(stack, refund_id) and _waiting(_execution(stack, refund_id)))
        requests.post(f"{stack.url}/v1/admin/refunds/{refund_id}/approve", json={"reason": "bench"},
                      headers=bearer(admin), timeout=30).raise_for_status()
    request = _until(lambda: (r := _request(stack, customer, order["order_id"], refund_id))["merchant_refund_id"]
                     and r["status"] == "processing" and r)
    time.sleep(1)
    phonepe = stack.sandbox("phonepe")
    requests.post(f"{phonepe.url}/_sandbox/refunds/{request['merchant_refund_id']}/outcome",
                  json={"outcome": "completed"}, timeout=10).raise_for_status()
    _until(lambda: (e := _execution(stack, refund_id)) and e["status"] == "SUCCEEDED" and e)
    history = _execution(stack, refund_id)["history"]
    entered = [e for e in history if e["type"].endswith("StateEntered")]
    tasks = [e for e in history if e["type"] == "TaskScheduled"]
    polls = sum(1 for e in entered if (e.get("stateEnteredEventDetails") or {}).get("name") == "CheckCompletion")
    LINES.append(f"{label}: {len(entered)} state transitions, {len(tasks)} Lambda tasks, {polls} completion polls "
                 f"(each further poll adds 3 transitions and 1 task)")


def _request(stack, token: str, order_id: str, refund_id: str) -> dict:
    items = requests.get(f"{stack.url}/v1/orders/{order_id}/refunds", headers=bearer(token), timeout=30).json()["items"]
    return next(r for r in items if r["refund_id"] == refund_id)


def _execution(stack, refund_id: str) -> dict | None:
    answer = requests.get(f"{stack.url}/_local/executions", params={"state_machine": "refund-approval"}, timeout=30)
    return next((e for e in answer.json()["executions"] if e["name"].startswith(refund_id)), None)


def _waiting(execution: dict) -> bool:
    return any(e["type"] == "TaskScheduled" and "await_decision" in str(e) for e in execution["history"])


def _until(check, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise TimeoutError("the expected state never came")


if __name__ == "__main__":
    main()
