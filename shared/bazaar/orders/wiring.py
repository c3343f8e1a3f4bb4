"""The orders context's composition root: what its functions build once, at cold start, from
their settings."""

from __future__ import annotations

from bazaar.orders.adapters.dynamodb import order_book
from bazaar.orders.settlement import Settler
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.payments.config import PhonePeSettings
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.settings import Settings


def settler(settings: Settings, phonepe: PhonePeSettings, dynamodb=None) -> Settler:
    """What applying PhonePe's verdicts to orders needs."""
    dynamodb = dynamodb or aws.client("dynamodb", count_round_trips=settings.count_aws_calls)
    return Settler(
        orders=order_book(settings, dynamodb),
        records=DynamoDbPaymentRecords(dynamodb, settings.table("orders")),
        plan=phonepe.status_check_plan(),
        clock=utc_now,
    )
