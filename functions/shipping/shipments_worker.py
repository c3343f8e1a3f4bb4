"""SQS worker for `shipments`: ships one paid order (`{"order_id"}`) through Shiprocket (find or
create the order, assign the AWB, book the pickup) and records the AWB on the order
(SHIPMENT_CREATED). A provider failure fails the record, and SQS retries it after the visibility
timeout; the use case resumes where the last attempt got to, without a second Shiprocket order.
On the queue's last receive the order is marked SHIPMENT_FAILED before the record fails for the
last time, so when SQS moves the message to the DLQ the order already shows it."""

import json
import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.orders.adapters.dynamodb import order_book
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import ConfigurationError, load_settings
from bazaar.shipping import fulfilment
from bazaar.shipping.adapters.shiprocket import shiprocket_from_settings
from bazaar.shipping.domain import ShippingProviderError

settings = load_settings(os.environ)
if not settings.shipments_max_receive_count or not settings.shipping_contact_email:
    raise ConfigurationError("shipments-worker needs SHIPMENTS_MAX_RECEIVE_COUNT and SHIPPING_CONTACT_EMAIL")
provider = shiprocket_from_settings(settings)
orders = order_book(settings, aws.client("dynamodb"))
processor = BatchProcessor(event_type=EventType.SQS)


class MalformedJob(ValueError):
    pass


def ship(record: SQSRecord) -> None:
    try:
        order_id = json.loads(record.body)["order_id"]
        if not isinstance(order_id, str) or not order_id:
            raise TypeError
    except (ValueError, KeyError, TypeError):
        # Not ours to guess: it fails until the DLQ keeps it for a person to read.
        logger.error("malformed shipment job", extra={"message_id": record.message_id})
        raise MalformedJob(record.message_id) from None
    attempt = int(record.attributes.approximate_receive_count)
    last = attempt >= settings.shipments_max_receive_count
    try:
        result = fulfilment.ship_paid_order(order_id, orders, provider, utc_now,
                                            contact_email=settings.shipping_contact_email, last_attempt=last)
    except ShippingProviderError as error:
        logger.warning("shipping failed; " + ("out of retries: SHIPMENT_FAILED, message goes to the DLQ" if last
                                              else "SQS will retry"), extra={
            "order_id": order_id, "error": type(error).__name__, "message": error.message,
            "provider_status": error.status, "provider_answer": error.details, "attempt": attempt,
            "max_receive_count": settings.shipments_max_receive_count,
        })
        metrics.add_metric(name="ShipmentAttemptFailed", unit="Count", value=1)
        raise
    order = result.order
    logger.info("shipment job done", extra={"order_id": order_id, "outcome": result.outcome, "attempt": attempt,
                                            "status": order.status if order else None,
                                            "awb": order.shipment.awb if order and order.shipment else None})


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=ship, processor=processor, context=context)
