"""The checkout context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bazaar.catalog.adapters.dynamodb import DynamoDbProducts
from bazaar.catalog.ports import Products
from bazaar.checkout.adapters.payments import PhonePePayments
from bazaar.checkout.domain import LockPolicies, LockPolicy
from bazaar.checkout.ports import PaymentStarter
from bazaar.checkout.settings import CheckoutSettings
from bazaar.ops.adapters.aws import DynamoDbJobRuns
from bazaar.ops.ports import JobRuns
from bazaar.orders.adapters.dynamodb import order_book
from bazaar.orders.ports import OrderBook
from bazaar.payments import wiring as payments_wiring
from bazaar.payments.adapters import metrics as payment_metrics
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.platform import aws
from bazaar.platform.clock import Clock, utc_now
from bazaar.platform.flags import Flags
from bazaar.platform.idempotency import IdempotencyKeys
from bazaar.platform.ids import new_id


@dataclass(frozen=True)
class Checkout:
    """What taking a cart to an order awaiting payment needs."""

    products: Products
    orders: OrderBook
    payments: PaymentStarter
    policies: LockPolicies
    keys: IdempotencyKeys
    clock: Clock
    new_id: Callable[[str], str]


@dataclass(frozen=True)
class StockCleanup:
    orders: OrderBook
    job_runs: JobRuns
    interval: timedelta
    clock: Clock


def checkout(settings: CheckoutSettings) -> Checkout:
    dynamodb = aws.client("dynamodb", count_round_trips=settings.count_aws_calls)
    phonepe = payments_wiring.phonepe_settings()
    flags = settings.flags()
    return Checkout(
        products=DynamoDbProducts(dynamodb, settings.table("catalog"), settings.table("stock")),
        orders=order_book(settings, dynamodb),
        payments=PhonePePayments(
            provider=payments_wiring.ProviderForCurrentCredentials(settings, phonepe, flags),
            records=DynamoDbPaymentRecords(dynamodb, settings.table("orders")),
            links=payments_wiring.payment_links(phonepe),
            plan=phonepe.status_check_plan(),
            on_started=lambda order: payment_metrics.payment_initiated(),
        ),
        policies=lock_policies(settings, timedelta(seconds=phonepe.payment_timeout_seconds), flags),
        keys=IdempotencyKeys("checkout", settings.table("idempotency"), dynamodb),
        clock=utc_now,
        new_id=new_id,
    )


# The flag that gives a share of customers the longer hold (declared in
# infra/description/contexts/checkout.py; a unit test keeps the names equal).
HOLD_STOCK_FLAG = "hold_stock_for_payment_timeout"


def lock_policies(settings: CheckoutSettings, payment_timeout: timedelta, flags: Flags) -> LockPolicies:
    cap = settings.max_locked_units_per_customer
    return LockPolicies(
        standard=LockPolicy(expiry=timedelta(minutes=settings.stock_lock_expiry_minutes), hold_cap=cap),
        # Never shorter than the standard hold, whatever the two settings say.
        for_payment_timeout=LockPolicy(
            expiry=max(payment_timeout, timedelta(minutes=settings.stock_lock_expiry_minutes)), hold_cap=cap),
        holds_for_payment=lambda customer_id: flags.value(HOLD_STOCK_FLAG, False, customer_id) is True,
    )


def stock_cleanup(settings: CheckoutSettings) -> StockCleanup:
    dynamodb = aws.client("dynamodb")
    return StockCleanup(order_book(settings, dynamodb), DynamoDbJobRuns(settings.table("ops"), client=dynamodb),
                        timedelta(minutes=settings.stock_cleanup_interval_minutes), utc_now)
