"""SQS worker for `tracking-events`: re-confirms each webhook scan with Shiprocket's track API and
applies the confirmed status to the order of that AWB (forward only; every new scan kept in the
order's history). An AWB that is not ours is logged and dropped: the webhook answered 200 because
it cannot tell, and retrying would not make it ours. A failing record fails alone."""

import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.orders.adapters.dynamodb import order_book
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import load_settings
from bazaar.shipping import fulfilment, services
from bazaar.shipping.adapters.shiprocket import shiprocket_from_settings
from bazaar.shipping.domain import TrackingEvent

settings = load_settings(os.environ)
provider = shiprocket_from_settings(settings)
orders = order_book(settings, aws.client("dynamodb"))
processor = BatchProcessor(event_type=EventType.SQS)


def confirm(record: SQSRecord) -> None:
    event = TrackingEvent.model_validate_json(record.body)
    confirmation = services.confirm_tracking(event, provider)
    details = {"awb": confirmation.awb, "channel_order_id": confirmation.channel_order_id,
               "state": confirmation.state, "label": confirmation.label, "known_label": confirmation.known_label,
               "webhook_label": event.label, "scans": len(confirmation.scans)}
    order = fulfilment.apply_tracking(confirmation, orders, utc_now)
    if order is None:
        logger.warning("tracking scan for no order of ours, or with no status yet; ignored", extra=details)
        metrics.add_metric(name="TrackingScanIgnored", unit="Count", value=1)
        return
    logger.info("tracking applied", extra={**details, "order_id": order.order_id, "order_status": order.status})


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=confirm, processor=processor, context=context)
