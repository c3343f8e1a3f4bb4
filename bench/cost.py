"""Benchmark (prints, asserts nothing): what 1,000 orders cost on AWS in Mumbai, measured on a
local stack this script starts and stops itself (return window 0 days, clock speed 10 so the
refund workflow's 10-minute poll takes a minute, schedules fired only by this script; faster
clocks scale the workflow's task timeouts below a loaded instance's cold start).

    make bench-cost        # or: python bench/cost.py [--lifecycles 50] [--per-month 30000]

N lifecycles over HTTP (bench/lifecycle.py): 20% abandoned at checkout, 10% paid, delivered and
refunded through the approval workflow, the rest paid, delivered (four courier scans), settled by
one settlement run and paid out by one daily payout run. Sellers, shoppers and products are made
before the meter starts. What is counted, per AWS service:

- Lambda: every invocation and its measured duration (init included, as Lambda bills it) x the
  function's memory from the description; API Gateway and WAF: every request the gateway served
  but the /webhooks/ paths (Lambda function URLs in the cloud) and the twin's /_local/ control API;
- DynamoDB, SQS, Secrets Manager, SES: every request the functions made, as the twin's AWS fault
  proxy in front of moto counts them (with no fault in force), DynamoDB in request units worked
  out from item sizes by the meter attached to it (bench/aws_meter.py);
  SQS also 2 requests per batch the event source mappings delivered (receive, delete);
- Streams: one GetRecords per batch delivered (free to Lambda triggers); Step Functions: the state
  transitions in the executions' histories;
- CloudWatch: the bytes of the functions' log lines (plus Lambda's START/END/REPORT lines) and the
  distinct custom metrics in their EMF lines, which bill per metric-month.
Monthly charges (custom metrics, secrets, the web ACL and its rules) are spread over --per-month
lifecycles. Not counted: the background schedules (stock cleanup, reconciliation, health probe),
which cost the same whatever the orders, and AppConfig's flag reads (a few per instance start)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from bench import cost_model  # noqa: E402
from bench.aws_meter import AwsMeter  # noqa: E402
from bench.lifecycle import Endpoints, Lifecycle, LifecycleError, pay_out, settle, sign_in, until  # noqa: E402
from bench.prices_ap_south_1 import PRICES, PRICES_READ_ON, REGION  # noqa: E402
from infra.description import SERVICE  # noqa: E402
from infra.local.stack import LocalConfig, LocalStack  # noqa: E402
from infra.local.workflows import describe_executions  # noqa: E402

GOAL_USD_PER_THOUSAND = 0.05
# Lambda's own lines per invocation (START, END and REPORT), about this many bytes together.
PLATFORM_LOG_BYTES = 330


class MeteredStack(LocalStack):
    """The local twin with the meter on its AWS fault proxy, and its gateway's requests counted."""

    meter: AwsMeter | None = None
    requests_served: Counter[str]

    def start(self) -> MeteredStack:
        self.requests_served = Counter()
        super().start()
        assert self.aws_faults is not None, "the meter rides on the AWS fault proxy"
        self.meter = AwsMeter(self.aws_faults, self.moto.client("dynamodb"))
        return self

    def _access_log(self, entry: dict) -> None:
        path = entry.get("path")
        if path is None:
            return  # the NAT gateway twin's entries: the way out, not a request served
        kind = "control" if path.startswith("/_local/") else "webhook" if path.startswith("/webhooks/") else "api"
        self.requests_served[kind] += 1


@dataclasses.dataclass
class Invocations:
    """Every invocation of the stack's functions, recorded around each runtime's invoke()."""

    count: Counter[str] = dataclasses.field(default_factory=Counter)
    gb_seconds: float = 0.0
    queue_batches: int = 0
    stream_batches: int = 0
    last: float = dataclasses.field(default_factory=time.monotonic)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def watch(self, runtime) -> None:
        invoke = runtime.invoke

        def recorded(event):
            result = invoke(event)
            records = event.get("Records") if isinstance(event, dict) else None
            source = (records[0].get("eventSource") if records else None) or ""
            with self.lock:
                self.count[runtime.function.name] += 1
                self.gb_seconds += cost_model.gb_seconds(result.duration_ms, runtime.function.memory_mb)
                self.queue_batches += source == "aws:sqs"
                self.stream_batches += source == "aws:dynamodb"
                self.last = time.monotonic()
            return result
        runtime.invoke = recorded

    def reset(self) -> None:
        with self.lock:
            self.count.clear()
            self.gb_seconds, self.queue_batches, self.stream_batches = 0.0, 0, 0


class LogTap:
    """The functions' stdout (what Lambda sends to CloudWatch Logs): the instances inherit this
    process's fd 1, which is pointed into a pipe counted here; the script prints to a copy."""

    def __init__(self, copy_to: Path):
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        self.copy = copy_to.open("wb")
        self.bytes = 0
        self.metrics: set[tuple] = set()
        self.counting = False
        read, write = os.pipe()
        os.dup2(write, 1)
        os.close(write)
        sys.stdout = self.out
        threading.Thread(target=self._drain, args=(os.fdopen(read, "rb"),), daemon=True).start()

    def _drain(self, pipe) -> None:
        for line in pipe:
            self.copy.write(line)
            if not self.counting:
                continue
            self.bytes += len(line)
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            for directive in (entry.get("_aws") or {}).get("CloudWatchMetrics", []) if isinstance(entry, dict) else []:
                for dimensions in directive.get("Dimensions", [[]]):
                    values = tuple((d, str(entry.get(d))) for d in dimensions)
                    for metric in directive.get("Metrics", []):
                        self.metrics.add((directive.get("Namespace"), metric["Name"], values))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifecycles", type=int, default=50)
    parser.add_argument("--per-month", type=int, default=30_000,
                        help="lifecycles a month, over which monthly charges are spread")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    tap = LogTap(state / "functions.log")
    tap.out.write(f"the functions' log lines: {state / 'functions.log'}\n")
    service = dataclasses.replace(SERVICE, settings={**SERVICE.settings, "RETURN_WINDOW_DAYS": "0"})
    config = LocalConfig.for_tests(state, clock_speed=10, fire_schedules=False)
    abandoned = round(args.lifecycles * 0.2)
    refunded = round(args.lifecycles * 0.1)
    plan = ["abandoned"] * abandoned + ["refunded"] * refunded + ["paid out"] * (args.lifecycles - abandoned - refunded)
    random.Random(16).shuffle(plan)
    stack = MeteredStack(config, service)
    with stack:
        endpoints = Endpoints.of_stack(stack)
        admin = sign_in(endpoints.api, **endpoints.admin)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            lives = list(pool.map(lambda _: Lifecycle(endpoints, admin=admin), plan))
            # One life through the refund workflow before the meter starts, so that its task
            # function has a warm instance: the twin's faster clock shortens task timeouts too.
            warm = lives[0]
            warm_order = _order(warm, "refunded")
            warm.refund(warm_order)
            tap.out.write(f"setup: {len(lives)} sellers, shoppers and products in {time.perf_counter() - started:.0f} s\n")
            invocations = Invocations()
            for runtime in stack.runtimes.values():
                invocations.watch(runtime)
            time.sleep(2)  # what setup set going (sign-up events) ends before the meter starts
            assert stack.meter is not None
            stack.meter.reset()
            invocations.reset()
            stack.requests_served.clear()
            for life in lives:  # the warm-up's waiting reads were made before the meter started
                life.polls.clear()
            tap.counting = True
            started, metering_since = time.perf_counter(), datetime.now(UTC)
            orders = list(pool.map(lambda pair: _order(*pair), zip(lives, plan, strict=True)))
            delivered = [(life, order) for life, order, kind in zip(lives, orders, plan, strict=True)
                         if kind == "paid out"]
            settle(endpoints.api, delivered, seconds=180)
            pay_out(endpoints.api, [life for life, _ in delivered], seconds=180)
            # One after another: concurrent workflows would start cold task instances (see above).
            failed_refunds = []
            for life, order, kind in zip(lives, orders, plan, strict=True):
                if kind == "refunded":
                    try:
                        life.refund(order)
                    except LifecycleError as error:
                        failed_refunds.append(str(error))
        _quiet(stack, invocations)
        measured = _snapshot(stack, invocations, tap)
        polls = sum((life.polls for life in lives), Counter())
        waiting = _cost_of_polls(stack, invocations, tap, polls, lives, orders, plan)
        tap.counting = False
        elapsed = time.perf_counter() - started
        names = stack.names
        assert names is not None
        # The warm-up's execution started before the meter: left out.
        transitions = sum(sum(1 for e in x["history"] if e["type"].endswith("StateEntered"))
                          for x in describe_executions(stack.client("stepfunctions"),
                                                       {m.name: names.state_machine_arn(m.name)
                                                        for m in service.state_machines})
                          if x["started"] >= metering_since)
        counts = {k: measured[k] - waiting[k] for k in measured}
        bill = _bill(args, stack, counts, len(tap.metrics), transitions)
    _print(tap.out, args, plan, elapsed, bill, stack, invocations, polls)
    for failure in failed_refunds:
        tap.out.write(f"a refund did not complete on the twin (its cost is counted as far as it went): {failure}\n")


def _snapshot(stack: MeteredStack, invocations: Invocations, tap: LogTap) -> dict[str, float]:
    meter = stack.meter
    assert meter is not None
    time.sleep(0.5)  # the last log lines reach the tap
    lambdas = sum(invocations.count.values())
    return {
        "lambda": lambdas, "gb_seconds": invocations.gb_seconds, "api": stack.requests_served["api"],
        "wru": meter.write_units, "rru": meter.read_units, "sqs": meter.sqs_requests + 2 * invocations.queue_batches,
        "streams": invocations.stream_batches, "secrets": meter.count("secretsmanager"),
        "emails": sum(n for (s, op), n in meter.requests.items() if s in ("ses", "email") and "mail" in op.lower()),
        "log_bytes": tap.bytes + PLATFORM_LOG_BYTES * lambdas,
    }


def _cost_of_polls(stack, invocations: Invocations, tap: LogTap, polls: Counter[str], lives, orders, plan,
                   sample: int = 10) -> dict[str, float]:
    """What the driver's waiting reads cost, to take out of the figure: a shopper or seller is
    told (realtime socket, email), where a script asks again and again. Each kind is measured
    over `sample` reads on a quiet stack, times how many the run made."""
    paid = [(life, order) for life, order, kind in zip(lives, orders, plan, strict=True) if kind == "paid out"]
    life, order = paid[0] if paid else (lives[0], orders[0])
    total = dict.fromkeys(_snapshot(stack, invocations, tap), 0.0)
    for kind, made in polls.items():
        before = _snapshot(stack, invocations, tap)
        for _ in range(sample):
            life.poll(kind, order)
        after = _snapshot(stack, invocations, tap)
        for key in total:
            total[key] += (after[key] - before[key]) / sample * made
    return total


def _order(life: Lifecycle, kind: str) -> str:
    order = life.checkout()["order_id"]
    if kind != "abandoned":
        life.pay(order)
        life.deliver(order)
    return order


def _quiet(stack, invocations: Invocations, seconds: float = 300) -> None:
    """Until the events the lifecycles set going have all been handled: no invocation for 3 s and
    no workflow running."""
    sfn = stack.client("stepfunctions")
    arns = [stack.names.state_machine_arn(m.name) for m in stack.service.state_machines]

    def quiet() -> bool:
        running = any(sfn.list_executions(stateMachineArn=a, statusFilter="RUNNING")["executions"] for a in arns)
        return not running and time.monotonic() - invocations.last > 3
    until(quiet, seconds, "the stack going quiet", every=0.5)


def _bill(args, stack: MeteredStack, counts: dict[str, float], metrics: int, transitions: int) -> cost_model.Bill:
    bill = cost_model.Bill(args.lifecycles, args.per_month)
    bill.add("Lambda requests", counts["lambda"], "lambda_requests")
    bill.add("Lambda GB-seconds", counts["gb_seconds"], "lambda_gb_seconds_arm64")
    bill.add("API Gateway requests", counts["api"], "api_gateway_rest_requests")
    bill.add("DynamoDB write units", counts["wru"], "dynamodb_write_request_units")
    bill.add("DynamoDB read units", counts["rru"], "dynamodb_read_request_units")
    bill.add("DynamoDB Streams reads", counts["streams"], "dynamodb_streams_read_request_units", free=True)
    bill.add("SQS requests", counts["sqs"], "sqs_requests")
    bill.add("Step Functions transitions", transitions, "step_functions_transitions")
    bill.add("SES emails", counts["emails"], "ses_emails")
    bill.add("Secrets Manager calls", counts["secrets"], "secrets_manager_api_calls")
    bill.add("CloudWatch Logs GB", counts["log_bytes"] / 1024**3, "cloudwatch_logs_ingested_gb")
    bill.add("WAF requests", counts["api"], "waf_requests")
    bill.add("CloudWatch custom metrics", metrics, "cloudwatch_custom_metric_months", per_month=True)
    bill.add("Secrets Manager secrets", len(stack.service.secrets), "secrets_manager_secret_months", per_month=True)
    bill.add("WAF web ACL", 1, "waf_web_acl_months", per_month=True)
    bill.add("WAF rules", 2 + bool(stack.service.api.strict_rate_limit_paths), "waf_rule_months", per_month=True)
    return bill


def _print(out, args, plan, elapsed: float, bill: cost_model.Bill, stack, invocations: Invocations,
           polls: Counter[str]) -> None:
    kinds = Counter(plan)
    out.write(f"\n== bench-cost ({REGION} list prices read {PRICES_READ_ON}; bench/prices_ap_south_1.py) ==\n")
    out.write(f"{args.lifecycles} lifecycles in {elapsed:.0f} s: {kinds['paid out']} paid out, "
              f"{kinds['refunded']} refunded after an admin's approval, {kinds['abandoned']} abandoned at checkout; "
              f"monthly charges over {args.per_month:,} lifecycles a month; the driver's "
              f"{sum(polls.values()):,} waiting reads ({', '.join(f'{k} {n}' for k, n in polls.most_common())}) "
              "measured and taken out\n\n")
    out.write("| service | count | unit price (USD) | per 1,000 lifecycles (USD) |\n|---|---:|---|---:|\n")
    for line in bill.ranked():
        price = PRICES[line.price_key]
        count = f"{line.count:,.1f}" if line.count >= 1 else f"{line.count:.3g}"
        flag = "" if price.confirmed else " UNCONFIRMED"
        unit = "free to Lambda triggers" if line.free else f"{price.usd:g} per {price.per:,g} {price.unit}{flag}"
        out.write(f"| {line.service}{' (monthly)' if line.per_month else ''} | {count} | {unit} | "
                  f"{bill.per_thousand(line):.5f} |\n")
    total = bill.total_per_thousand
    out.write(f"| **total** | | | **{total:.4f}** |\n\n")
    verdict = "met" if total <= GOAL_USD_PER_THOUSAND else "NOT met"
    out.write(f"goal <= ${GOAL_USD_PER_THOUSAND} per 1,000 orders: {verdict} (${total:.4f})\n")
    top = bill.ranked()[:3]
    out.write("dominant: " + ", ".join(f"{t.service} {bill.per_thousand(t) / total:.0%}" for t in top) + "\n")
    busiest = ", ".join(f"{name} {n}" for name, n in invocations.count.most_common(8))
    out.write(f"most invoked (waiting reads included): {busiest}\n")
    meter = stack.meter
    dynamo = Counter({op: n for (s, op), n in meter.requests.items() if s == "dynamodb"})
    out.write("DynamoDB requests: " + ", ".join(f"{op} {n}" for op, n in dynamo.most_common(6)) + "\n")
    tables = ", ".join(f"{table.split('-', 1)[-1]} {units:,.0f}" for table, units in
                       meter.write_units_by_table.most_common(6))
    out.write(f"DynamoDB write units by table (waiting reads write none): {tables}\n")
    out.write("see docs/cost.md for what would cut the dominant ones\n")


if __name__ == "__main__":
    main()
