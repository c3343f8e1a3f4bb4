"""Use cases of the ops context."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bazaar.ops.domain import Backlog, DependencyStatus, HealthReport, HeartbeatStatus, JobRun, OrderCounts
from bazaar.ops.ports import DependencyProbe, JobRuns, OrdersChanged, StatusBacklog
from bazaar.platform.flags import Flags

HEARTBEAT_JOB = "scheduler-heartbeat"
# The stock cleanup's job name in the job runs (bazaar.checkout.services.STOCK_CLEANUP_JOB; ops may
# not import checkout, which imports ops: a unit test keeps the two equal).
STOCK_CLEANUP_JOB = "stock-cleanup"
# The window of diagnostics' order counts.
ORDER_COUNT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class JobStatus:
    last_run: JobRun | None
    next_run_at: datetime | None  # the schedule's next firing after the last scheduled run
    late: bool  # no scheduled run for two intervals


def job_status(runs: JobRuns, job: str, interval: timedelta, now: datetime) -> JobStatus:
    recent = runs.latest(job, limit=10)
    scheduled = next((r for r in recent if not r.summary.get("manual")), None)
    next_run = scheduled.started_at + interval if scheduled else None
    return JobStatus(recent[0] if recent else None, next_run,
                     late=scheduled is None or now - scheduled.started_at > 2 * interval)


@dataclass(frozen=True)
class FlagReading:
    name: str
    default: object  # the document's default (what a user outside every rule gets)
    value: object  # for the caller
    rules: dict


def read_flags(flags: Flags, user_id: str) -> tuple[bool, list[FlagReading]]:
    """Every flag of the document as the store has it now, with its value for this user; (False,
    []) when the store cannot be read (every flag then takes its setting)."""
    document = flags.document()
    if document is None:
        return False, []
    return True, [FlagReading(name, entry.get("default"), flags.value(name, entry.get("default", False), user_id),
                              dict(entry.get("rules") or {}))
                  for name, entry in sorted(document.items()) if isinstance(entry, dict)]


def order_counts(orders: OrdersChanged, statuses: Sequence[str], now: datetime,
                 window: timedelta = ORDER_COUNT_WINDOW) -> OrderCounts:
    """The orders that changed in the window, by the status they are in now: one index query per
    status, run at once. An order is one item, so however many times it changed (or however many
    times its events were delivered) it counts once, in its current status."""
    since = now - window
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(statuses))), thread_name_prefix="count") as pool:
        counts = list(pool.map(lambda status: orders.changed_since(status, since), statuses))
    return OrderCounts(since=since, until=now, by_status={str(s): n for s, n in zip(statuses, counts, strict=True)})


def backlog(source: StatusBacklog, statuses: Iterable[str]) -> Backlog:
    """What waits in these statuses: the count of each and the oldest item's creation time."""
    found = {str(status): source.backlog(status) for status in statuses}
    oldest = [at for _, at in found.values() if at is not None]
    return Backlog(by_status={status: n for status, (n, _) in found.items()}, oldest_at=min(oldest, default=None))


def check_health(version: str, probes: Sequence[DependencyProbe]) -> HealthReport:
    """Every probe at once (each has its own short timeout), so health answers within the slowest
    probe's timeout rather than their sum."""
    with ThreadPoolExecutor(max_workers=max(1, len(probes)), thread_name_prefix="probe") as pool:
        statuses = tuple(pool.map(_probe, probes))
    return HealthReport(version=version, dependencies=statuses)


def _probe(probe: DependencyProbe) -> DependencyStatus:
    started = time.perf_counter()
    try:
        probe.check()
        problem = None
    except Exception as error:  # noqa: BLE001 - any failure means "unreachable" to a health check
        problem = _describe(error)
    latency = int((time.perf_counter() - started) * 1000)
    return DependencyStatus(probe.name, problem is None, latency, problem, getattr(probe, "kind", "core"))


def record_heartbeat(runs: JobRuns, now: Callable[[], datetime]) -> JobRun:
    run = JobRun(job=HEARTBEAT_JOB, started_at=now(), duration_ms=0, succeeded=True, summary={})
    runs.record(run)
    return run


def heartbeat_status(runs: JobRuns, interval: timedelta) -> HeartbeatStatus:
    latest = runs.latest(HEARTBEAT_JOB, limit=1)
    return HeartbeatStatus(last_beat=latest[0].started_at if latest else None, interval=interval)


def _describe(error: Exception) -> str:
    # Say what kind of failure it was, for operators; never the endpoint, ARN or credentials.
    response = getattr(error, "response", None)  # botocore's is a dict; requests' a Response or None
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code or getattr(error, "public_problem", None) or type(error).__name__
