"""Schedule `payouts-settlement`: every order whose return window has passed gets its ledger
postings (each seller's sale less commission, gateway fee, TCS and TDS; refunds so far netted;
the recruiting scout's bounty on a recruit's first order), in one transaction per order."""

from bazaar.payouts import wiring
from bazaar.payouts.services import settle_due
from bazaar.payouts.settings import PayoutSettings
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

earnings = wiring.earnings(from_environment(PayoutSettings), people=True)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    summary = settle_due(earnings)
    logger.info("settlement run", extra=summary)
    return summary
