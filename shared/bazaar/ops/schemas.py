"""API shapes of the ops context."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from bazaar.ops.domain import Backlog, HealthReport, HeartbeatStatus, OrderCounts


class DependencyOut(BaseModel):
    name: str
    kind: Literal["core", "provider"]
    # ok; down (a core dependency: nothing can be served); degraded (a provider: what needs it waits)
    status: Literal["ok", "degraded", "down"]
    latency_ms: int
    problem: str | None = None


class HealthOut(BaseModel):
    """`down` (HTTP 503) when a core dependency is unreachable; `degraded` (HTTP 200: still serving)
    when only providers are; `ok` otherwise."""

    status: Literal["ok", "degraded", "down"]
    version: str
    dependencies: list[DependencyOut]

    @classmethod
    def of(cls, report: HealthReport) -> HealthOut:
        return cls(
            status=report.status,
            version=report.version,
            dependencies=[
                DependencyOut(name=d.name, kind=d.kind, status=d.status, latency_ms=d.latency_ms, problem=d.problem)
                for d in report.dependencies
            ],
        )


class SchedulerOut(BaseModel):
    last_heartbeat_at: datetime | None
    heartbeat_interval_seconds: int
    late: bool


class StockLocksOut(BaseModel):
    active: int
    expired_unreleased: int
    oldest_expired_at: datetime | None


class NeedsRefundOut(BaseModel):
    count: int
    order_ids: list[str]  # the oldest first, at most 50


class PaymentsOut(BaseModel):
    needs_refund: NeedsRefundOut
    pending_reconciliation: int  # payments PhonePe has not settled yet
    overdue_checks: int  # of those, status checks due but not made (reconciliation behind)
    pending_order_ids: list[str]  # earliest next check first, at most 50


class FailedShipmentOut(BaseModel):
    order_id: str
    since: datetime


class ShipmentsOut(BaseModel):
    """Orders whose shipment job ran out of retries (its message is in the shipments DLQ); an
    admin re-drives each with POST /v1/admin/orders/{id}/retry-shipment."""

    failed: int
    oldest_failed: list[FailedShipmentOut]


class BacklogOut(BaseModel):
    """Work not finished yet: how many, per status, and how long the oldest has waited since it
    was made (null when there is none)."""

    count: int
    by_status: dict[str, int]
    oldest_created_at: datetime | None
    oldest_age_seconds: int | None

    @classmethod
    def of(cls, backlog: Backlog, now: datetime) -> BacklogOut:
        age = backlog.oldest_age(now)
        return cls(count=backlog.count, by_status=backlog.by_status, oldest_created_at=backlog.oldest_at,
                   oldest_age_seconds=None if age is None else int(age.total_seconds()))


class RefundsOut(BaseModel):
    """Refund requests an admin must look at (GET /v1/admin/refunds lists them)."""

    waiting: int  # for an admin's decision
    failed: int  # PhonePe refused or failed them: retryable
    expired: int  # nobody decided in time
    # Not settled yet: requested, approved, processing at PhonePe, or failed (an admin may retry).
    pending: BacklogOut | None = None


class PayoutsOut(BaseModel):
    """Payouts not paid yet: `pending` (made; not yet accepted by RazorpayX, or queued there for a
    low balance) and `processing` (RazorpayX is moving the money)."""

    pending: BacklogOut


class OrderCountsOut(BaseModel):
    """The orders placed or changed from `since` to `until` (the last 24 hours), by the status
    each is in now; every status is listed, zeros included. An order counts once, in its current
    status: one paid then shipped in the window is a SHIPMENT_CREATED one."""

    since: datetime
    until: datetime
    total: int
    by_status: dict[str, int]

    @classmethod
    def of(cls, counts: OrderCounts) -> OrderCountsOut:
        return cls(since=counts.since, until=counts.until, total=counts.total, by_status=counts.by_status)


class FlagOut(BaseModel):
    name: str
    default: bool | int | str | None  # the flag document's default
    value: bool | int | str | None  # for the calling admin
    rules: dict  # Powertools rules: a rollout is a MODULO_RANGE condition on rollout_number


class FlagsOut(BaseModel):
    """The feature flags as the flag store has them now. Unreadable: every flag takes its setting."""

    readable: bool
    flags: list[FlagOut]

    @classmethod
    def of(cls, readable: bool, readings) -> FlagsOut:
        return cls(readable=readable, flags=[FlagOut(**vars(r)) for r in readings])


class JobOut(BaseModel):
    last_run_at: datetime | None
    last_outcome: Literal["succeeded", "failed"] | None
    last_error: str | None
    next_run_at: datetime | None
    late: bool  # no scheduled run for two intervals

    @classmethod
    def of(cls, status) -> JobOut:
        run = status.last_run
        return cls(last_run_at=run.started_at if run else None,
                   last_outcome=None if run is None else "succeeded" if run.succeeded else "failed",
                   last_error=run.error if run else None, next_run_at=status.next_run_at, late=status.late)


class DiagnosticsOut(BaseModel):
    """Filled in by each context as it lands (stock locks, payments, shipments, payouts)."""

    version: str
    stage: str
    health: HealthOut
    scheduler: SchedulerOut
    stock_locks: StockLocksOut | None = None
    payments: PaymentsOut | None = None
    shipments: ShipmentsOut | None = None
    refunds: RefundsOut | None = None
    feature_flags: FlagsOut | None = None
    stock_cleanup: JobOut | None = None
    orders_last_24h: OrderCountsOut | None = None
    payouts: PayoutsOut | None = None

    @classmethod
    def of(cls, version: str, stage: str, health: HealthReport, heartbeat: HeartbeatStatus, now: datetime,
           stock_locks: StockLocksOut | None = None, shipments: ShipmentsOut | None = None,
           payments: PaymentsOut | None = None, refunds: RefundsOut | None = None):
        return cls(
            refunds=refunds,
            stock_locks=stock_locks,
            shipments=shipments,
            payments=payments,
            version=version,
            stage=stage,
            health=HealthOut.of(health),
            scheduler=SchedulerOut(
                last_heartbeat_at=heartbeat.last_beat,
                heartbeat_interval_seconds=int(heartbeat.interval.total_seconds()),
                late=heartbeat.is_late(now),
            ),
        )
