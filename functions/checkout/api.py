"""Checkout API: POST /v1/checkout (customer, Idempotency-Key required): locks the stock, writes
the order and opens its PhonePe payment, answering with the redirect URL.

Three DynamoDB round trips: the catalogue read; one transaction with the stock locks, the order,
its history and event, its payment record and the Idempotency-Key's claim; after PhonePe
answered, the response stored for the key. A repeated key is answered from its record, which
the claim's cancelled transaction hands back (two round trips)."""

from datetime import timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header

from bazaar.catalog.adapters.dynamodb import DynamoDbProducts
from bazaar.checkout import services
from bazaar.checkout.adapters.payments import PhonePePayments
from bazaar.checkout.domain import LockPolicy
from bazaar.checkout.schemas import CheckoutIn, CheckoutOut
from bazaar.orders.adapters.dynamodb import order_book
from bazaar.payments import wiring
from bazaar.payments.adapters import metrics as payment_metrics
from bazaar.payments.adapters.dynamodb import DynamoDbPaymentRecords
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.http import HttpApi
from bazaar.platform.idempotency import KEY_PATTERN, IdempotencyKeys, KeyTaken
from bazaar.platform.ids import new_id
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.checkout.settings import CheckoutSettings

settings = from_environment(CheckoutSettings)
api = HttpApi(settings)
app = api.app
dynamodb = aws.client("dynamodb", count_round_trips=settings.count_aws_calls)
products = DynamoDbProducts(dynamodb, settings.table("catalog"), settings.table("stock"))
orders = order_book(settings, dynamodb)
phonepe = wiring.phonepe_settings()
payments = PhonePePayments(
    provider=wiring.ProviderForCurrentCredentials(settings, phonepe),
    records=DynamoDbPaymentRecords(dynamodb, settings.table("orders")),
    links=wiring.payment_links(phonepe),
    plan=phonepe.status_check_plan(),
    on_started=lambda order: payment_metrics.payment_initiated(),
)
policy = LockPolicy(expiry=timedelta(minutes=settings.stock_lock_expiry_minutes),
                    hold_cap=settings.max_locked_units_per_customer)
keys = IdempotencyKeys("checkout", settings.table("idempotency"), dynamodb)


@app.post(
    "/v1/checkout",
    summary="Lock the cart's stock and create an order awaiting payment",
    responses={
        201: {"description": "The order, its total, when its stock locks expire and where to pay"},
        409: {"description": "OUT_OF_STOCK (details name the variants), LOCK_LIMIT_REACHED or IDEMPOTENCY_KEY_IN_USE"},
        422: {"description": "IDEMPOTENCY_KEY_REUSED: the key was used with another body"},
        502: {"description": "PAYMENT_PROVIDER_ERROR: PhonePe refused the payment; the order was released"},
        503: {"description": "DEPENDENCY_UNAVAILABLE: PhonePe could not be reached; the order was released"},
    },
)
def checkout(
    cart: CheckoutIn,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)],
) -> Response[CheckoutOut]:
    customer_id = api.caller.user_id
    now = utc_now()
    claim = keys.claim(caller=customer_id, key=idempotency_key, body=cart.model_dump(mode="json"), now=now)
    try:
        result = services.checkout(cart.command(customer_id, claim), products, orders, payments, policy, now, new_id,
                                   keys)
    except KeyTaken as taken:
        # Nothing was written: answer the first request's response (or 409 / 422).
        body = keys.answer(claim, taken)
    else:
        body = CheckoutOut.of(result).model_dump(mode="json")
        keys.complete(claim, body)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    keys.register_lambda_context(context)
    return api.handle(event, context)
