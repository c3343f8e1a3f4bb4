"""SQS worker for `payment-events`: re-confirms each verified webhook with PhonePe's status API
and checks the amount and merchant order id against the claim.

Provider side only, for now: it logs the confirmed verdict. Moving the order (paid, failed,
refunded) on a CONFIRMED verdict is wired in when the orders context lands. A claim PhonePe cannot
confirm yet fails the record, so SQS brings it back after the visibility timeout (and, after the
queue's max receives, to the DLQ, where an alarm sees it)."""

import os

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.payments import services
from bazaar.payments.adapters import phonepe_provider
from bazaar.payments.config import PhonePeCredentials, load_phonepe_settings
from bazaar.payments.domain import PaymentEvent, Verdict
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import load_settings

settings = load_settings(os.environ)
phonepe_settings = load_phonepe_settings(os.environ)
processor = BatchProcessor(event_type=EventType.SQS)
_client: dict = {}  # the provider for the current credentials; kept across warm invocations (token cache)


class NotYetConfirmed(Exception):
    """PhonePe has no verdict yet; the record goes back to the queue."""


def provider():
    credentials = load_secret(settings, "phonepe", PhonePeCredentials)
    if _client.get("credentials") != credentials:
        _client.update(credentials=credentials, provider=phonepe_provider(phonepe_settings, credentials))
    return _client["provider"]


def confirm(record: SQSRecord) -> None:
    event = PaymentEvent.model_validate_json(record.body)
    confirmation = services.confirm_payment_event(event, provider())
    status = confirmation.status
    details = {
        "verdict": confirmation.verdict.value, "kind": event.kind.value, "api_version": event.api_version,
        "merchant_order_id": event.merchant_order_id, "merchant_refund_id": event.merchant_refund_id,
        "claimed_state": event.state, "claimed_amount_paise": event.amount_paise,
        "provider_state": getattr(status, "state", None), "provider_amount_paise": getattr(status, "amount_paise", None),
    }
    metrics.add_metric(name=f"PaymentEvent{confirmation.verdict.value.title().replace('_', '')}",
                       unit=MetricUnit.Count, value=1)
    if confirmation.verdict is Verdict.NOT_YET:
        logger.info("payment event not confirmed yet; will ask again", extra=details)
        raise NotYetConfirmed(event.subject_id)
    if confirmation.verdict is Verdict.MISMATCH:
        logger.error("payment event does not match PhonePe's status; not acted on", extra=details)
    elif confirmation.verdict is Verdict.CONTRADICTED:
        logger.warning("payment event contradicted by PhonePe's status; the status wins", extra=details)
    else:
        logger.info("payment event confirmed by PhonePe's status", extra=details)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=confirm, processor=processor, context=context)
