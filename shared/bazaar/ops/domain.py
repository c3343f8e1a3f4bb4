"""What operators ask of a running Bazaar: is it healthy, and are its scheduled jobs running."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

# What a dependency is to Bazaar. Without a core one (DynamoDB, Secrets Manager) no request can be
# served: Bazaar is down. Without a provider (PhonePe, Shiprocket, RazorpayX) the work that needs
# it waits (webhooks queue, jobs retry, payments reconcile later) and everything else is served:
# Bazaar is degraded, and a provider's outage must not make Bazaar's own health check fail.
DependencyKind = Literal["core", "provider"]
Health = Literal["ok", "degraded", "down"]


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    healthy: bool
    latency_ms: int
    problem: str | None = None
    kind: DependencyKind = "core"

    @property
    def status(self) -> Health:
        if self.healthy:
            return "ok"
        return "down" if self.kind == "core" else "degraded"


@dataclass(frozen=True)
class HealthReport:
    version: str
    dependencies: tuple[DependencyStatus, ...]

    @property
    def status(self) -> Health:
        statuses = {d.status for d in self.dependencies}
        return "down" if "down" in statuses else "degraded" if "degraded" in statuses else "ok"

    @property
    def healthy(self) -> bool:
        """Serving requests: every core dependency answers (providers may not)."""
        return self.status != "down"


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


@dataclass(frozen=True)
class Backlog:
    """Work waiting in some statuses (payouts not paid yet, refunds not settled yet): how many,
    how many per status, and since when the oldest has waited."""

    by_status: dict[str, int]
    oldest_at: datetime | None

    @property
    def count(self) -> int:
        return sum(self.by_status.values())

    def oldest_age(self, now: datetime) -> timedelta | None:
        # Never negative: the oldest item's clock may run a little ahead of this one.
        return None if self.oldest_at is None else max(timedelta(0), now - self.oldest_at)


@dataclass(frozen=True)
class OrderCounts:
    """The orders that changed in a window, by the status each is in now (every status listed)."""

    since: datetime
    until: datetime
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())
