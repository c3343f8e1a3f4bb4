"""Orders admin API: read an order (refreshing its unsettled refunds), and the overrides
after PAID: retry the shipment (re-drives a job that ended in the DLQ), cancel the shipment, mark
delivered, refund. Each override is refused with 409 INVALID_STATE_TRANSITION where the order's
transition table does not allow it, and is written with its audit entry in one transaction."""

import os
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header

from bazaar.money import Paise
from bazaar.orders import fulfilment
from bazaar.orders.adapters.dynamodb import order_book
from bazaar.orders.aftersale import Admin
from bazaar.orders.domain import OrderNotFound
from bazaar.orders.schemas import AdminActionIn, OrderOut, RefundIn
from bazaar.payments.adapters import phonepe_provider
from bazaar.payments.config import PhonePeCredentials, load_phonepe_settings
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.http import HttpApi
from bazaar.platform.idempotency import KEY_PATTERN, IdempotentRequests
from bazaar.platform.ids import new_id
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import from_environment
from bazaar.shipping.settings import ShippingSettings
from bazaar.shipping import fulfilment as shipment_fulfilment
from bazaar.shipping.adapters.shiprocket import shiprocket_from_settings
from bazaar.shipping.adapters.sqs import SqsShipmentJobs

settings = from_environment(ShippingSettings)
phonepe_settings = load_phonepe_settings(os.environ)
api = HttpApi(settings)
app = api.app
dynamodb = aws.client("dynamodb")
orders = order_book(settings, dynamodb, settings.table("audit"))
jobs = SqsShipmentJobs(aws.client("sqs"), settings.queue_url("shipments"))
shipping = shiprocket_from_settings(settings)
idempotent = IdempotentRequests("order-refund", settings.table("idempotency"), dynamodb)
_payments: dict = {}  # the PhonePe client for the current credentials, kept while warm (token cache)

CONFLICTS = {409: {"description": "INVALID_STATE_TRANSITION: the order's status does not allow this"}}


def payments():
    credentials = load_secret(settings, "phonepe", PhonePeCredentials)
    if _payments.get("credentials") != credentials:
        _payments.update(credentials=credentials, provider=phonepe_provider(phonepe_settings, credentials))
    return _payments["provider"]


def _admin(body: AdminActionIn) -> Admin:
    return Admin(actor_id=api.principal.user_id, request_id=api.request_id, reason=body.reason)


@app.get("/v1/admin/orders/<order_id>", summary="One order with its history, shipment and refunds (admin)")
def get_order(order_id: str) -> OrderOut:
    order = orders.get(order_id)
    if order is None:
        raise OrderNotFound()
    if any(r.state.open for r in order.refunds):
        order = fulfilment.refresh_refunds(order, orders, payments(), utc_now)
    return OrderOut.of(order, with_history=True)


@app.post("/v1/admin/orders/<order_id>/retry-shipment", summary="Queue the order's shipment again (audited)",
          responses=CONFLICTS)
def retry_shipment(order_id: str, body: AdminActionIn) -> OrderOut:
    return OrderOut.of(fulfilment.retry_shipment(order_id, _admin(body), orders, jobs, utc_now, new_id),
                       with_history=True)


@app.post("/v1/admin/orders/<order_id>/cancel-shipment", summary="Cancel the order's shipment (audited)",
          responses={**CONFLICTS, 502: {"description": "SHIPPING_PROVIDER_ERROR: Shiprocket refused"}})
def cancel_shipment(order_id: str, body: AdminActionIn) -> OrderOut:
    return OrderOut.of(shipment_fulfilment.cancel_shipment(order_id, _admin(body), orders, shipping, utc_now, new_id),
                       with_history=True)


@app.post("/v1/admin/orders/<order_id>/mark-delivered", summary="Mark the order delivered (audited)",
          responses=CONFLICTS)
def mark_delivered(order_id: str, body: AdminActionIn) -> OrderOut:
    return OrderOut.of(fulfilment.mark_delivered(order_id, _admin(body), orders, utc_now, new_id), with_history=True)


@app.post("/v1/admin/orders/<order_id>/refund", summary="Refund the order in full or in part (audited)",
          responses={**CONFLICTS, 502: {"description": "PAYMENT_PROVIDER_ERROR: PhonePe refused the refund"}})
def refund(
    order_id: str,
    body: RefundIn,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)],
) -> Response[OrderOut]:
    admin = _admin(body)
    answer = idempotent.run(
        caller=admin.actor_id, key=idempotency_key, body={"order_id": order_id, **body.model_dump(mode="json")},
        perform=lambda: OrderOut.of(
            fulfilment.refund(order_id, Paise(body.amount_paise), admin, orders, payments(), utc_now, new_id,
                              phonepe_settings.callback_url),
            with_history=True,
        ).model_dump(mode="json"),
    )
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=answer)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    idempotent.register_lambda_context(context)
    return api.handle(event, context)
