"""The orders context's composition root: what its functions build once, at cold start, from
their settings."""

from __future__ import annotations

from dataclasses import dataclass

from bazaar.orders.adapters.dynamodb import order_book
from bazaar.orders.adapters.sqs import SqsEventQueues
from bazaar.orders.relay import EventQueues, Routes
from bazaar.orders.settings import DispatcherSettings, OrderBookSettings
from bazaar.orders.settlement import Settler
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.payments.config import PhonePeSettings
from bazaar.platform import aws
from bazaar.platform.clock import utc_now


def settler(settings: OrderBookSettings, phonepe: PhonePeSettings, dynamodb=None) -> Settler:
    """What applying PhonePe's verdicts to orders needs."""
    dynamodb = dynamodb or aws.client("dynamodb", count_round_trips=settings.count_aws_calls)
    return Settler(
        orders=order_book(settings, dynamodb),
        records=DynamoDbPaymentRecords(dynamodb, settings.table("orders")),
        plan=phonepe.status_check_plan(),
        clock=utc_now,
    )


@dataclass(frozen=True)
class Dispatcher:
    routes: Routes
    queues: EventQueues


def dispatcher(settings: DispatcherSettings) -> Dispatcher:
    """The relay's routes and the consumers' queues, from the description's event routes."""
    urls = {queue: settings.queue_url(queue) for queue in settings.event_routes}
    return Dispatcher(Routes.from_queues(settings.event_routes), SqsEventQueues(aws.client("sqs"), urls))
