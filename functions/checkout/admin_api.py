"""Admin: POST /v1/admin/stock-cleanup runs it now; GET shows recent runs and the next one."""

from bazaar.checkout import services, wiring
from bazaar.checkout.adapters.metrics import publish_cleanup
from bazaar.checkout.schemas import CleanupRunOut, CleanupStatusOut
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.checkout.settings import CheckoutSettings

settings = from_environment(CheckoutSettings)
api = HttpApi(settings)
app = api.app
cleanup = wiring.stock_cleanup(settings)


@app.post("/v1/admin/stock-cleanup", summary="Run the stock cleanup now (admin)")
def run_cleanup() -> CleanupRunOut:
    run, report = services.run_stock_cleanup(cleanup.orders, cleanup.job_runs, cleanup.clock, manual=True)
    publish_cleanup(run, report)
    return CleanupRunOut.of(run)


@app.get("/v1/admin/stock-cleanup", summary="Recent stock cleanup runs and the next scheduled one (admin)")
def cleanup_status() -> CleanupStatusOut:
    return CleanupStatusOut.of(services.stock_cleanup_status(cleanup.job_runs, cleanup.interval))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
