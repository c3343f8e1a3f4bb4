"""Scheduled every STOCK_CLEANUP_INTERVAL_MINUTES: gives expired stock locks back."""


from bazaar.checkout import services
from bazaar.checkout.adapters.metrics import publish_cleanup
from bazaar.ops.adapters.aws import DynamoDbJobRuns
from bazaar.orders.adapters.dynamodb import order_book
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.checkout.settings import CheckoutSettings

settings = from_environment(CheckoutSettings)
orders = order_book(settings, aws.client("dynamodb"))
job_runs = DynamoDbJobRuns(settings.table("ops"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    run, report = services.run_stock_cleanup(orders, job_runs, utc_now, manual=False)
    publish_cleanup(run, report)
    return {"job": run.job, "at": run.started_at.isoformat(), **run.summary}
