"""Refunds API for shoppers: ask for a refund of your order (a reason from the catalogue; the
whole order or an amount; Idempotency-Key) and list the order's requests with their history."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from bazaar.money import Paise
from bazaar.platform.http import HttpApi
from bazaar.platform.idempotency import KEY_PATTERN
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.refunds import services, wiring
from bazaar.refunds.schemas import RefundList, RefundOut, RefundRequestIn
from bazaar.refunds.settings import RefundSettings

settings = from_environment(RefundSettings)
api = HttpApi(settings)
app = api.app
refunds = wiring.refunds(settings)
idempotent = wiring.idempotent_refunds(settings, "customer-refund-request")
REFUSALS: dict[int, OpenAPIResponse] = {409: {"description": "REFUND_EXCEEDS_PAID, REFUND_WINDOW_CLOSED, "
                                                             "REFUND_ALREADY_OPEN or INVALID_STATE_TRANSITION"}}


@app.post("/v1/orders/<order_id>/refunds", summary="Ask for a refund of your order",
           responses={201: {"description": "The refund request"}, **REFUSALS})
def ask(order_id: str, body: RefundRequestIn,
        idempotency_key: Annotated[str, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)]) -> Response[RefundOut]:
    caller = api.caller.user_id
    amount = Paise(body.amount_paise) if body.amount_paise is not None else None
    return idempotent.respond(
        status=201, caller=caller, key=idempotency_key, body={"order_id": order_id, **body.model_dump(mode="json")},
        perform=lambda: RefundOut.of(services.request_refund(order_id, amount, body.reason, body.note, caller=caller,
                                                             is_admin=False, kit=refunds)))


@app.get("/v1/orders/<order_id>/refunds", summary="The order's refund requests, oldest first")
def list_refunds(order_id: str) -> RefundList:
    caller = api.caller
    requests_ = services.refunds_of(order_id, caller.user_id, "admin" in caller.roles, refunds)
    return RefundList(items=[RefundOut.of(r) for r in requests_])


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    idempotent.register_lambda_context(context)
    return api.handle(event, context)
