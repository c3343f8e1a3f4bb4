"""SQS worker for `payout-webhooks`: applies RazorpayX's word on a payout, forward only (a late
`processing` after `processed` changes nothing; `processed` and `reversed` are final but for a
bank's reversal). A failure or reversal gives the payout's postings back to the balance."""

from bazaar.payouts import wiring
from bazaar.payouts.services import follow_provider
from bazaar.payouts.settings import PayoutSettings
from bazaar.payouts.webhooks import PayoutWebhook
from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

earnings = wiring.earnings(from_environment(PayoutSettings))


def _apply(webhook: PayoutWebhook, _record) -> None:
    if not webhook.payout.reference_id:
        logger.warning("a payout webhook without our reference; dropped", extra={"event_id": webhook.event_id})
        return
    payout = follow_provider(webhook.payout.reference_id, webhook.payout, earnings)
    logger.info("payout webhook applied", extra={"event_id": webhook.event_id, "event": webhook.event,
                                                 "status": payout.status.value if payout else None})


apply = sqs_worker(PayoutWebhook.model_validate_json, _apply)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return apply(event, context)
