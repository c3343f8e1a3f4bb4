"""Schedule `payouts-status`: asks RazorpayX about open payouts not heard of for a while (a lost
webhook must not leave a payout open), and queues again the job of a payout never sent."""

from bazaar.payouts import wiring
from bazaar.payouts.services import poll_open_payouts
from bazaar.payouts.settings import RazorpayXSettings
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

earnings = wiring.earnings(from_environment(RazorpayXSettings), jobs=True)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    summary = poll_open_payouts(earnings)
    logger.info("payout status run", extra=summary)
    return summary
