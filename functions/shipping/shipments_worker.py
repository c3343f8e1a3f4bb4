"""SQS worker for `shipments`: ships one order through Shiprocket (find or create the order,
assign the AWB, book the pickup). A provider failure fails the record, and SQS retries it; the
use case resumes where the last attempt got to, without a second Shiprocket order."""

import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import load_settings
from bazaar.shipping import services
from bazaar.shipping.adapters.shiprocket import shiprocket_from_settings
from bazaar.shipping.domain import ShipmentRequest, ShippingProviderError

settings = load_settings(os.environ)
provider = shiprocket_from_settings(settings)
processor = BatchProcessor(event_type=EventType.SQS)


def ship(record: SQSRecord) -> None:
    request = ShipmentRequest.model_validate_json(record.body)
    try:
        outcome = services.ship_order(request, provider)
    except ShippingProviderError as error:
        logger.warning("shipping failed; SQS will retry", extra={
            "channel_order_id": request.channel_order_id, "error": type(error).__name__, "message": error.message,
            "provider_status": error.status, "provider_answer": error.details,
            "attempt": record.attributes.approximate_receive_count,
        })
        raise
    logger.info("order shipped", extra=outcome.model_dump(mode="json"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=ship, processor=processor, context=context)
