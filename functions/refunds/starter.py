"""SQS worker for `refund-workflow-events`: refund events relayed from the outbox start the
execution of each request opened (or retried), named after the request and version so a
redelivered event starts nothing twice; the order's own refund events complete the request whose
refund PhonePe paid back."""

from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.refunds import services, wiring
from bazaar.refunds.settings import RefundSettings

refunds = wiring.refunds(from_environment(RefundSettings), workflow=True)


def _follow(body: str, _record) -> None:
    logger.info("refund workflow event", extra={"outcome": services.follow_event(body, refunds)})


follow = sqs_worker(str, _follow)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return follow(event, context)
