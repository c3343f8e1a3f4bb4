"""SQS worker for `payment-events`: re-confirms each verified webhook with PhonePe's status API,
checks the amount and merchant order id, and applies the verdict to the order exactly once
(bazaar.orders.settlement says what each effect is deduplicated on). What follows PAID reacts to
the OrderPaid event committed with the transition.

A claim PhonePe cannot confirm yet, or a failure to apply it, fails the record, so SQS
brings it back after the visibility timeout (and, after the queue's max receives, to the DLQ,
where an alarm sees it); applying it again changes nothing that was already done."""


from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.orders import settlement
from bazaar.orders import wiring
from bazaar.payments.adapters import metrics as payment_metrics
from bazaar.payments.domain import PaymentEvent, Settlement, Verdict
from bazaar.platform.aws import round_trips
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.orders.settings import OrderBookSettings

settings = from_environment(OrderBookSettings)
settlement_kit = wiring.payment_settlement(settings)
provider, settler = settlement_kit.provider, settlement_kit.settler
processor = BatchProcessor(event_type=EventType.SQS)


def confirm(record: SQSRecord) -> None:
    event = PaymentEvent.model_validate_json(record.body)
    round_trips.reset()
    details: dict[str, object] = {"kind": event.kind.value, "api_version": event.api_version,
               "merchant_order_id": event.merchant_order_id, "merchant_refund_id": event.merchant_refund_id,
               "claimed_state": event.state, "claimed_amount_paise": event.amount_paise}
    try:
        outcome = settlement.apply_payment_event(event, provider(), settler)
    except settlement.NotYetConfirmed:
        metrics.add_metric(name="PaymentEventNotYet", unit=MetricUnit.Count, value=1)
        logger.info("payment event not confirmed yet; will ask again", extra=details)
        raise
    status = outcome.confirmation.status
    details.update(verdict=outcome.confirmation.verdict.value,
                   settlement=outcome.settlement.value if outcome.settlement else None,
                   provider_state=getattr(status, "state", None),
                   provider_amount_paise=getattr(status, "amount_paise", None))
    if settings.count_aws_calls:
        details["aws_round_trips"] = dict(round_trips.counts)
    metrics.add_metric(name=f"PaymentEvent{outcome.confirmation.verdict.value.title().replace('_', '')}",
                       unit=MetricUnit.Count, value=1)
    payment_metrics.settled(outcome.settlement)
    if outcome.confirmation.verdict is Verdict.MISMATCH:
        logger.error("payment event does not match PhonePe's status; not acted on", extra=details)
    elif outcome.settlement is Settlement.UNKNOWN_ORDER:
        logger.error("payment event for an order Bazaar does not know; nothing changed", extra=details)
    elif outcome.confirmation.verdict is Verdict.CONTRADICTED:
        logger.warning("payment event contradicted by PhonePe's status; the status was applied", extra=details)
    else:
        logger.info("payment event applied", extra=details)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=confirm, processor=processor, context=context)
