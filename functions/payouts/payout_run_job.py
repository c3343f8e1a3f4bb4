"""Schedule `payouts-daily`: a payout for every seller whose available balance reaches the
minimum, each queued for the processor. Claims are conditional, so a run racing an admin's
payout (or another run) pays nothing twice."""

from bazaar.payouts import wiring
from bazaar.payouts.services import run_payouts
from bazaar.payouts.settings import PayoutSettings
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

earnings = wiring.earnings(from_environment(PayoutSettings), jobs=True)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    summary = run_payouts(earnings)
    logger.info("payout run", extra=summary)
    return summary
