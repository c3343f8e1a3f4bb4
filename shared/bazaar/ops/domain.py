"""What operators ask of a running Bazaar: is it healthy, and are its scheduled jobs running."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    healthy: bool
    latency_ms: int
    problem: str | None = None


@dataclass(frozen=True)
class HealthReport:
    version: str
    dependencies: tuple[DependencyStatus, ...]

    @property
    def healthy(self) -> bool:
        return all(d.healthy for d in self.dependencies)


@dataclass(frozen=True)
class JobRun:
    """One run of a scheduled job: what operators look at when a job seems stuck."""

    job: str
    started_at: datetime
    duration_ms: int
    succeeded: bool
    summary: dict[str, int]
    error: str | None = None


@dataclass(frozen=True)
class HeartbeatStatus:
    last_beat: datetime | None
    interval: timedelta

    def is_late(self, now: datetime) -> bool:
        # Two missed beats, not one: a single late invocation is EventBridge jitter, not an outage.
        return self.last_beat is None or now - self.last_beat > 2 * self.interval
