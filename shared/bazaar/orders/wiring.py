"""The orders context's composition root: what its functions build once, at cold start, from
their settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bazaar.orders.adapters.dynamodb import DynamoDbOrderBook
from bazaar.orders.adapters.dynamodb import order_book as _order_book
from bazaar.orders.adapters.sqs import SqsEventQueues, SqsShipmentJobs
from bazaar.orders.ports import AftersaleBook, ShipmentJobs
from bazaar.orders.relay import EventQueues, Routes
from bazaar.orders.settings import DispatcherSettings, OrderBookSettings
from bazaar.orders.settlement import Settler
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.payments import wiring as payments_wiring
from bazaar.payments.ports import PaymentProvider
from bazaar.platform import aws
from bazaar.platform.clock import Clock, utc_now
from bazaar.platform.idempotency import IdempotentRequests
from bazaar.platform.ids import new_id


@dataclass(frozen=True)
class PaymentSettlement:
    """What applying PhonePe's verdicts to orders needs: PhonePe (for the secret's current
    credentials) and the settler (order book, payment records, polling plan, clock)."""

    provider: Callable[[], PaymentProvider]
    settler: Settler


def payment_settlement(settings: OrderBookSettings) -> PaymentSettlement:
    phonepe = payments_wiring.phonepe_settings()
    dynamodb = aws.client("dynamodb", count_round_trips=settings.count_aws_calls)
    return PaymentSettlement(
        provider=payments_wiring.ProviderForCurrentCredentials(settings, phonepe),
        settler=Settler(orders=_order_book(settings, dynamodb),
                        records=DynamoDbPaymentRecords(dynamodb, settings.table("orders")),
                        plan=phonepe.status_check_plan(), clock=utc_now),
    )


@dataclass(frozen=True)
class Dispatcher:
    routes: Routes
    queues: EventQueues


def dispatcher(settings: DispatcherSettings) -> Dispatcher:
    """The relay's routes and the consumers' queues, from the description's event routes."""
    urls = {queue: settings.queue_url(queue) for queue in settings.event_routes}
    return Dispatcher(Routes.from_queues(settings.event_routes), SqsEventQueues(aws.client("sqs"), urls))


@dataclass(frozen=True)
class Aftersale:
    """What the after-PAID use cases on an order need (admin overrides, refunds)."""

    orders: AftersaleBook
    jobs: ShipmentJobs
    payments: Callable[[], PaymentProvider]  # PhonePe for the secret's current credentials
    refund_callback_url: str
    clock: Clock
    new_id: Callable[[str], str]


def aftersale(settings: OrderBookSettings, *, audited: bool = False, requeues_shipments: bool | None = None
              ) -> Aftersale:
    """`audited`: admin changes write their audit entries (the function declares `audit`);
    `requeues_shipments` (by default as audited): it may queue a shipment job again."""
    phonepe = payments_wiring.phonepe_settings()
    dynamodb = aws.client("dynamodb")
    requeues = audited if requeues_shipments is None else requeues_shipments
    return Aftersale(
        orders=_order_book(settings, dynamodb, settings.table("audit") if audited else None),
        jobs=SqsShipmentJobs(aws.client("sqs"), settings.queue_url("shipments")) if requeues else NoShipmentJobs(),
        payments=payments_wiring.ProviderForCurrentCredentials(settings, phonepe),
        refund_callback_url=phonepe.callback_url,
        clock=utc_now,
        new_id=new_id,
    )


class NoShipmentJobs:
    """For functions that never re-queue a shipment (they declare no `shipments` queue)."""

    def enqueue(self, order_id: str) -> None:
        raise RuntimeError("this function does not queue shipment jobs")


def refund_requests(settings: OrderBookSettings) -> IdempotentRequests:
    """An admin's refund answers its Idempotency-Key the way every creating POST does."""
    return IdempotentRequests("order-refund", settings.table("idempotency"), aws.client("dynamodb"))


def order_book(settings: OrderBookSettings) -> DynamoDbOrderBook:
    """The order book on the request path's client (short timeouts)."""
    return _order_book(settings, aws.client("dynamodb", count_round_trips=settings.count_aws_calls))
