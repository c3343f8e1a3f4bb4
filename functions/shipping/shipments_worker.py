"""SQS worker for `shipments`: ships one paid order (`{"order_id"}`, as the relayed OrderPaid event
or an admin's retry carries it) through Shiprocket (find or create the order, assign the AWB, book
the pickup) and records the AWB on the order (SHIPMENT_CREATED). A provider failure fails the
record, and SQS retries it after the visibility timeout; the use case resumes where the last
attempt got to, without a second Shiprocket order. On the queue's last receive the order is
marked SHIPMENT_FAILED first, so when SQS moves the message to the DLQ the order already shows it.
A message without an order id fails until the DLQ keeps it for a person to read."""

from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.shipping import wiring
from bazaar.shipping.fulfilment import ShipmentJob, run_shipment_job
from bazaar.shipping.settings import ShipmentJobSettings

jobs = wiring.shipment_jobs(from_environment(ShipmentJobSettings))
ship = sqs_worker(ShipmentJob.model_validate_json,
                  lambda job, record: run_shipment_job(job, int(record.attributes.approximate_receive_count), jobs))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return ship(event, context)
