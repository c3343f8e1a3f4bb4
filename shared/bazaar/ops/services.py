"""Use cases of the ops context."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bazaar.ops.domain import DependencyStatus, HealthReport, HeartbeatStatus, JobRun
from bazaar.ops.ports import DependencyProbe, JobRuns

HEARTBEAT_JOB = "scheduler-heartbeat"


def check_health(version: str, probes: Sequence[DependencyProbe]) -> HealthReport:
    statuses = []
    for probe in probes:
        started = time.perf_counter()
        try:
            probe.check()
            problem = None
        except Exception as error:  # noqa: BLE001 - any failure means "down" to a health check
            problem = _describe(error)
        latency = int((time.perf_counter() - started) * 1000)
        statuses.append(DependencyStatus(probe.name, problem is None, latency, problem))
    return HealthReport(version=version, dependencies=tuple(statuses))


def record_heartbeat(runs: JobRuns, now: Callable[[], datetime]) -> JobRun:
    run = JobRun(job=HEARTBEAT_JOB, started_at=now(), duration_ms=0, succeeded=True, summary={})
    runs.record(run)
    return run


def heartbeat_status(runs: JobRuns, interval: timedelta) -> HeartbeatStatus:
    latest = runs.latest(HEARTBEAT_JOB, limit=1)
    return HeartbeatStatus(last_beat=latest[0].started_at if latest else None, interval=interval)


def _describe(error: Exception) -> str:
    # Say what kind of failure it was, for operators; never the endpoint, ARN or credentials.
    code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
    return code or type(error).__name__
