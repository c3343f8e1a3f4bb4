"""SQS worker for `payout-order-events`: each message is one order event relayed from the outbox.
Delivered schedules the order's settlement for when its return window has passed; a refund of a
settled order posts its reversal (and a bounty's clawback), netted by the next payout. Both are
conditional writes keyed by the order and the refund, so a redelivered event posts nothing new."""

from bazaar.orders.events import OrderEvent
from bazaar.payouts import wiring
from bazaar.payouts.services import follow_order_event
from bazaar.payouts.settings import PayoutSettings
from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

earnings = wiring.earnings(from_environment(PayoutSettings))


def _follow(event: OrderEvent, _record) -> None:
    outcome = follow_order_event(event, earnings)
    logger.info("order event followed", extra={"event_id": event.event_id, "event_type": event.event_type.value,
                                               "order_id": event.order_id, "outcome": outcome})


follow = sqs_worker(OrderEvent.from_json, _follow)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return follow(event, context)
