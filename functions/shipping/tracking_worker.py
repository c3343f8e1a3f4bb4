"""SQS worker for `tracking-events`: re-confirms each webhook scan with Shiprocket's track API
and maps it to our shipment state. A failing record fails alone (partial batch response).

Applying the state to the order (through the orders context's transition table, with
`tracking.next_state`) is wired when the orders context lands; until then the confirmed state
is logged."""

import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import load_settings
from bazaar.shipping import services
from bazaar.shipping.adapters.shiprocket import shiprocket_from_settings
from bazaar.shipping.domain import TrackingEvent

settings = load_settings(os.environ)
provider = shiprocket_from_settings(settings)
processor = BatchProcessor(event_type=EventType.SQS)


def confirm(record: SQSRecord) -> None:
    event = TrackingEvent.model_validate_json(record.body)
    confirmation = services.confirm_tracking(event, provider)
    logger.info(
        "tracking confirmed",
        extra={"awb": confirmation.awb, "channel_order_id": confirmation.channel_order_id,
               "state": confirmation.state, "label": confirmation.label, "known_label": confirmation.known_label,
               "webhook_label": event.label, "scans": len(confirmation.scans)},
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=confirm, processor=processor, context=context)
