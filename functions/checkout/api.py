"""Checkout API: POST /v1/checkout (customer, Idempotency-Key required): locks the stock, writes
the order and opens its PhonePe payment, answering with the redirect URL.

Three DynamoDB round trips: the catalogue read; one transaction with the stock locks, the order,
its history and event, its payment record and the Idempotency-Key's claim; after PhonePe
answered, the response stored for the key. A repeated key is answered from its record, which
the claim's cancelled transaction hands back (two round trips)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header

from bazaar.checkout import services, wiring
from bazaar.checkout.schemas import CheckoutIn, CheckoutOut
from bazaar.checkout.settings import CheckoutSettings
from bazaar.platform.http import HttpApi
from bazaar.platform.idempotency import KEY_PATTERN
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

settings = from_environment(CheckoutSettings)
api = HttpApi(settings)
app = api.app
kit = wiring.checkout(settings)


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
    body = services.checkout_once(customer_id, idempotency_key, cart.model_dump(mode="json"),
                                  lambda claim: cart.command(customer_id, claim), kit,
                                  lambda result: CheckoutOut.of(result).model_dump(mode="json"))
    # The answer is the stored CheckoutOut JSON (the same on a repeat of the key), already serialised.
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)  # type: ignore[arg-type]


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    kit.keys.register_lambda_context(context)
    return api.handle(event, context)
