"""SQS worker for `realtime-events`: each message is one outbox event (an order's, a payout's or a
refund request's) relayed by the dispatcher; its frame goes to every connection of its
audiences, journaled once per event id so a redelivery posts nothing a connection already got.
A record whose posts partly failed is retried alone (partial batch response); a payload that is
no such event fails alone and ends in the DLQ (alarmed)."""

from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.realtime import services, wiring
from bazaar.realtime.domain import parse_event
from bazaar.realtime.settings import RealtimeSettings

kit = wiring.realtime(from_environment(RealtimeSettings), pushes=True)
publish = sqs_worker(parse_event, lambda event, _: services.publish(event, kit))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return publish(event, context)
