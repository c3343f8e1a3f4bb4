"""The ops context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bazaar.ops.adapters.aws import DynamoDbJobRuns, DynamoDbProbe, SecretsManagerProbe
from bazaar.ops.adapters.providers import ProviderProbe
from bazaar.ops.ports import DependencyProbe, JobRuns
from bazaar.ops.settings import OpsSettings
from bazaar.orders.adapters.dynamodb import DynamoDbFailedShipments, DynamoDbLockCensus, DynamoDbOrdersInStatus
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.payouts.adapters.dynamodb import DynamoDbPayoutCensus
from bazaar.platform import aws
from bazaar.platform.flags import Flags
from bazaar.platform.settings import Settings
from bazaar.refunds.adapters.dynamodb import DynamoDbRefundBook


@dataclass(frozen=True)
class Diagnostics:
    """What health and admin diagnostics read: dependency probes, job runs, the orders table's
    sparse indexes (locks, failed shipments, orders in a status, pending payments) and the status
    indexes of refunds and payouts."""

    version: str
    stage: str
    probes: tuple[DependencyProbe, ...]
    job_runs: JobRuns
    heartbeat_interval: timedelta
    lock_census: DynamoDbLockCensus
    failed_shipments: DynamoDbFailedShipments
    orders_in_status: DynamoDbOrdersInStatus
    payment_records: DynamoDbPaymentRecords
    refund_requests: DynamoDbRefundBook
    payout_census: DynamoDbPayoutCensus
    flags: Flags
    stock_cleanup_interval: timedelta


def diagnostics(settings: OpsSettings) -> Diagnostics:
    dynamodb, orders = aws.client("dynamodb"), settings.table("orders")
    return Diagnostics(
        version=settings.version,
        stage=settings.stage,
        probes=health_probes(settings, settings.provider_urls()),
        job_runs=DynamoDbJobRuns(settings.table("ops"), client=dynamodb),
        heartbeat_interval=timedelta(minutes=settings.heartbeat_interval_minutes),
        lock_census=DynamoDbLockCensus(dynamodb, orders),
        failed_shipments=DynamoDbFailedShipments(dynamodb, orders),
        orders_in_status=DynamoDbOrdersInStatus(dynamodb, orders),
        payment_records=DynamoDbPaymentRecords(dynamodb, orders),
        refund_requests=DynamoDbRefundBook(dynamodb, settings.table("refunds"), None),
        payout_census=DynamoDbPayoutCensus(dynamodb, settings.table("payouts")),
        flags=settings.flags(),
        stock_cleanup_interval=timedelta(minutes=settings.stock_cleanup_interval_minutes),
    )


def health_probes(settings: Settings, providers: Mapping[str, str] | None = None) -> tuple[DependencyProbe, ...]:
    """What the health check asks: the core dependencies, for GET /health and the scheduled health
    probe alike, and the providers at these base URLs (GET /health reports them; they never make
    the check fail, so the probe behind the health alarm leaves them out)."""
    # Short timeouts and no retries: health answers fast, also when AWS does not.
    return (DynamoDbProbe(aws.client("dynamodb", aws.PROBE), settings.table("ops")),
            SecretsManagerProbe(aws.client("secretsmanager", aws.PROBE), settings.secret_id("app-keys")),
            *(ProviderProbe(name, url) for name, url in (providers or {}).items()))


def job_runs(settings: Settings) -> JobRuns:
    return DynamoDbJobRuns(settings.table("ops"), client=aws.client("dynamodb"))
