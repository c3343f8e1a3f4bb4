"""Scheduled every minute: asks PhonePe about each pending payment whose mandated status check
has come due (docs/providers/phonepe.md, 'Status polling', through each payment's next_check_at) and settles
it, so a payment whose webhook never came is still applied; past its timeout a pending one is failed."""


from bazaar.orders import settlement
from bazaar.orders import wiring
from bazaar.payments.adapters import metrics as payment_metrics
from bazaar.payments.domain import Settlement
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.orders.settings import OrderBookSettings

settings = from_environment(OrderBookSettings)
settlement_kit = wiring.payment_settlement(settings)
provider, settler = settlement_kit.provider, settlement_kit.settler


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    report = settlement.reconcile_payments(provider(), settler)
    for outcome, count in report.outcomes.items():
        payment_metrics.settled(Settlement(outcome), count)
    payment_metrics.reconciliation_run(report.checked, report.settled, report.errors)
    logger.info("payment reconciliation", extra={"checked": report.checked, "outcomes": report.outcomes,
                                                 "errors": report.errors})
    return {"checked": report.checked, "settled": report.settled, "outcomes": report.outcomes,
            "errors": report.errors}
