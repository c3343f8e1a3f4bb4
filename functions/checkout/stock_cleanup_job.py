"""Scheduled every STOCK_CLEANUP_INTERVAL_MINUTES: gives expired stock locks back."""

from bazaar.checkout import services, wiring
from bazaar.checkout.adapters.metrics import publish_cleanup
from bazaar.checkout.settings import CheckoutSettings
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

cleanup = wiring.stock_cleanup(from_environment(CheckoutSettings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    run, report = services.run_stock_cleanup(cleanup.orders, cleanup.job_runs, cleanup.clock, manual=False)
    publish_cleanup(run, report)
    return {"job": run.job, "at": run.started_at.isoformat(), **run.summary}
