"""Ops API: GET /health (public) and GET /v1/admin/diagnostics (admin)."""

from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.event_handler import Response, content_types

from bazaar.ops import services
from bazaar.ops.adapters.aws import DynamoDbJobRuns, DynamoDbProbe, SecretsManagerProbe
from bazaar.ops.schemas import (
    DiagnosticsOut, FailedShipmentOut, HealthOut, NeedsRefundOut, PaymentsOut, ShipmentsOut, StockLocksOut,
)
from bazaar.orders.adapters.dynamodb import DynamoDbFailedShipments, DynamoDbLockCensus, DynamoDbOrdersInStatus
from bazaar.orders.domain import OrderStatus
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.platform import aws
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.ops.settings import OpsSettings

settings = from_environment(OpsSettings)
api = HttpApi(settings)
app = api.app
probes = (
    DynamoDbProbe(aws.client("dynamodb", aws.PROBE), settings.table("ops")),
    SecretsManagerProbe(aws.client("secretsmanager", aws.PROBE), settings.secret_id("app-keys")),
)
job_runs = DynamoDbJobRuns(settings.table("ops"))
lock_census = DynamoDbLockCensus(aws.client("dynamodb"), settings.table("orders"))
failed_shipments = DynamoDbFailedShipments(aws.client("dynamodb"), settings.table("orders"))
orders_in_status = DynamoDbOrdersInStatus(aws.client("dynamodb"), settings.table("orders"))
payment_records = DynamoDbPaymentRecords(aws.client("dynamodb"), settings.table("orders"))
LISTED = 50


@app.get("/health", summary="Service health", responses={503: {"description": "A dependency is down"}})
def health() -> Response[HealthOut]:
    report = services.check_health(settings.version, probes)
    return Response(
        status_code=200 if report.healthy else 503,
        content_type=content_types.APPLICATION_JSON,
        body=HealthOut.of(report),
    )


@app.get("/v1/admin/diagnostics", summary="Operational diagnostics (admin)")
def diagnostics() -> DiagnosticsOut:
    report = services.check_health(settings.version, probes)
    heartbeat = services.heartbeat_status(job_runs, timedelta(minutes=settings.heartbeat_interval_minutes))
    now = datetime.now(UTC)
    locks = lock_census.count(now)
    refunds, refund_ids = orders_in_status.find(OrderStatus.NEEDS_REFUND, LISTED)
    pending = payment_records.census(now, LISTED)
    return DiagnosticsOut.of(
        settings.version, settings.stage, report, heartbeat, now,
        StockLocksOut(active=locks.active, expired_unreleased=locks.expired_unreleased,
                      oldest_expired_at=locks.oldest_expired_at),
        ShipmentsOut(failed=failed_shipments.count(),
                     oldest_failed=[FailedShipmentOut(order_id=o.order_id, since=o.updated_at)
                                    for o in failed_shipments.oldest(20)]),
        payments=PaymentsOut(needs_refund=NeedsRefundOut(count=refunds, order_ids=refund_ids),
                             pending_reconciliation=pending.open, overdue_checks=pending.overdue,
                             pending_order_ids=list(pending.open_order_ids)),
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
