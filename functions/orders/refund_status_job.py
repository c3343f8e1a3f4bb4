"""Schedule `refund-status`: asks PhonePe about every refund it has not settled yet and moves the
orders whose refunds completed to PARTIALLY_REFUNDED / REFUNDED (the webhook path may get there
first; either way the change is conditional and happens once)."""

import os

from bazaar.orders import fulfilment
from bazaar.orders.adapters.dynamodb import order_book
from bazaar.payments.adapters import phonepe_provider
from bazaar.payments.config import PhonePeCredentials, load_phonepe_settings
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import from_environment
from bazaar.orders.settings import OrderBookSettings

settings = from_environment(OrderBookSettings)
phonepe_settings = load_phonepe_settings(os.environ)
orders = order_book(settings, aws.client("dynamodb"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    provider = phonepe_provider(phonepe_settings, load_secret(settings, "phonepe", PhonePeCredentials))
    summary = fulfilment.poll_open_refunds(orders, provider, utc_now)
    logger.info("refund status run", extra=summary)
    return summary
