"""Schedule `refund-status`: asks PhonePe about every refund it has not settled yet and moves the
orders whose refunds completed to PARTIALLY_REFUNDED / REFUNDED (the webhook path may get there
first; either way the change is conditional and happens once)."""

from bazaar.orders import fulfilment, wiring
from bazaar.orders.settings import OrderBookSettings
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

aftersale = wiring.aftersale(from_environment(OrderBookSettings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    summary = fulfilment.poll_open_refunds(aftersale.orders, aftersale.payments(), aftersale.clock)
    logger.info("refund status run", extra=summary)
    return summary
