"""Ops API: GET /health, GET /v1/openapi.json and GET /v1/docs (public), GET /v1/admin/diagnostics (admin)."""

from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response, content_types

from bazaar.ops import published, services, wiring
from bazaar.ops.schemas import (
    BacklogOut, DiagnosticsOut, FailedShipmentOut, FlagsOut, HealthOut, JobOut, NeedsRefundOut, OrderCountsOut,
    PaymentsOut, PayoutsOut, RefundsOut, ShipmentsOut, StockLocksOut,
)
from bazaar.payouts.domain import OPEN as OPEN_PAYOUTS
from bazaar.refunds.domain import OPEN as OPEN_REFUNDS
from bazaar.refunds.services import refund_counts
from bazaar.orders.domain import OrderStatus
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.ops.settings import OpsSettings

settings = from_environment(OpsSettings)
api = HttpApi(settings)
app = api.app
ops = wiring.diagnostics(settings)
LISTED = 50


@app.get("/health", summary="Service health", responses={
    200: {"description": "ok, or degraded: a provider (PhonePe, Shiprocket, RazorpayX) is unreachable"},
    503: {"description": "down: DynamoDB or Secrets Manager is unreachable"}})
def health() -> Response[HealthOut]:
    report = services.check_health(ops.version, ops.probes)
    return Response(
        status_code=200 if report.healthy else 503,
        content_type=content_types.APPLICATION_JSON,
        body=HealthOut.of(report),
    )


@app.get("/v1/openapi.json", summary="This API's OpenAPI document",
         responses={200: {"description": "The OpenAPI 3.1 document",
                          "content": {"application/json": {"schema": {"type": "object"}}}}})
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=published.document())


@app.get("/v1/docs", summary="The OpenAPI document in Swagger UI",
         responses={200: {"description": "A Swagger UI page (HTML) for /v1/openapi.json",
                          "content": {"text/html": {"schema": {"type": "string"}}}}})
def docs_page() -> Response[str]:
    page = published.docs_page()
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=page.html,
                    headers={"Content-Security-Policy": page.content_security_policy})


@app.get("/v1/admin/diagnostics", summary="Operational diagnostics (admin)")
def diagnostics() -> DiagnosticsOut:
    report = services.check_health(ops.version, ops.probes)
    heartbeat = services.heartbeat_status(ops.job_runs, ops.heartbeat_interval)
    now = datetime.now(UTC)
    locks = ops.lock_census.count(now)
    refunds, refund_ids = ops.orders_in_status.find(OrderStatus.NEEDS_REFUND, LISTED)
    pending = ops.payment_records.census(now, LISTED)
    out = DiagnosticsOut.of(
        ops.version, ops.stage, report, heartbeat, now,
        StockLocksOut(active=locks.active, expired_unreleased=locks.expired_unreleased,
                      oldest_expired_at=locks.oldest_expired_at),
        ShipmentsOut(failed=ops.failed_shipments.count(),
                     oldest_failed=[FailedShipmentOut(order_id=o.order_id, since=o.updated_at)
                                    for o in ops.failed_shipments.oldest(20)]),
        payments=PaymentsOut(needs_refund=NeedsRefundOut(count=refunds, order_ids=refund_ids),
                             pending_reconciliation=pending.open, overdue_checks=pending.overdue,
                             pending_order_ids=list(pending.open_order_ids)),
        refunds=RefundsOut(**refund_counts(ops.refund_requests),
                           pending=BacklogOut.of(services.backlog(ops.refund_requests, sorted(OPEN_REFUNDS)), now)),
    )
    out.orders_last_24h = OrderCountsOut.of(services.order_counts(ops.orders_in_status, list(OrderStatus), now))
    out.payouts = PayoutsOut(pending=BacklogOut.of(services.backlog(ops.payout_census, sorted(OPEN_PAYOUTS)), now))
    out.feature_flags = FlagsOut.of(*services.read_flags(ops.flags, api.caller.user_id))
    out.stock_cleanup = JobOut.of(services.job_status(ops.job_runs, services.STOCK_CLEANUP_JOB,
                                                      ops.stock_cleanup_interval, now))
    return out


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
