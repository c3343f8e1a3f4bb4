"""Admin: POST /v1/admin/stock-cleanup runs it now; GET shows recent runs and the next one."""

from datetime import timedelta

from bazaar.checkout import services
from bazaar.checkout.adapters.metrics import publish_cleanup
from bazaar.checkout.schemas import CleanupRunOut, CleanupStatusOut
from bazaar.ops.adapters.aws import DynamoDbJobRuns
from bazaar.orders.adapters.dynamodb import order_book
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.checkout.settings import CheckoutSettings

settings = from_environment(CheckoutSettings)
api = HttpApi(settings)
app = api.app
orders = order_book(settings, aws.client("dynamodb"))
job_runs = DynamoDbJobRuns(settings.table("ops"))
interval = timedelta(minutes=settings.stock_cleanup_interval_minutes)


@app.post("/v1/admin/stock-cleanup", summary="Run the stock cleanup now (admin)")
def run_cleanup() -> CleanupRunOut:
    run, report = services.run_stock_cleanup(orders, job_runs, utc_now, manual=True)
    publish_cleanup(run, report)
    return CleanupRunOut.of(run)


@app.get("/v1/admin/stock-cleanup", summary="Recent stock cleanup runs and the next scheduled one (admin)")
def cleanup_status() -> CleanupStatusOut:
    return CleanupStatusOut.of(services.stock_cleanup_status(job_runs, interval))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
