"""Orders admin API: read an order (refreshing its unsettled refunds), and the overrides
after PAID: retry the shipment (re-drives a job that ended in the DLQ), cancel the shipment, mark
delivered. (An admin's refund is a refund request: functions/refunds/admin_api.py.) Each override is refused with 409 INVALID_STATE_TRANSITION where the order's
transition table does not allow it, and is written with its audit entry in one transaction."""


from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from bazaar.orders import fulfilment, wiring
from bazaar.orders.aftersale import Admin
from bazaar.orders.schemas import AdminActionIn, OrderOut
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.shipping import fulfilment as shipping
from bazaar.shipping import wiring as shipping_wiring
from bazaar.shipping.settings import ShippingSettings

settings = from_environment(ShippingSettings)
api = HttpApi(settings)
app = api.app
kit = wiring.aftersale(settings, audited=True)
courier = shipping_wiring.shiprocket(settings)
CONFLICTS: dict[int, OpenAPIResponse] = {
    409: {"description": "INVALID_STATE_TRANSITION: the order's status does not allow this"}}


def _admin(body: AdminActionIn) -> Admin:
    return Admin(actor_id=api.caller.user_id, request_id=api.request_id, reason=body.reason)


def _shown(order) -> OrderOut:
    return OrderOut.of(order, with_history=True)


@app.get("/v1/admin/orders/<order_id>", summary="One order with its history, shipment and refunds (admin)")
def get_order(order_id: str) -> OrderOut:
    return _shown(fulfilment.view_with_refunds_refreshed(order_id, kit))


@app.post("/v1/admin/orders/<order_id>/retry-shipment", summary="Queue the order's shipment again (audited)",
          responses={200: {"description": "The order after the action"}, **CONFLICTS})
def retry_shipment(order_id: str, body: AdminActionIn) -> OrderOut:
    return _shown(fulfilment.retry_shipment(order_id, _admin(body), kit.orders, kit.jobs, kit.clock, kit.new_id))


@app.post("/v1/admin/orders/<order_id>/cancel-shipment", summary="Cancel the order's shipment (audited)",
          responses={200: {"description": "The order after the action"}, **CONFLICTS, 502: {"description": "SHIPPING_PROVIDER_ERROR: Shiprocket refused"}})
def cancel_shipment(order_id: str, body: AdminActionIn) -> OrderOut:
    return _shown(shipping.cancel_shipment(order_id, _admin(body), kit.orders, courier, kit.clock, kit.new_id))


@app.post("/v1/admin/orders/<order_id>/mark-delivered", summary="Mark the order delivered (audited)",
          responses={200: {"description": "The order after the action"}, **CONFLICTS})
def mark_delivered(order_id: str, body: AdminActionIn) -> OrderOut:
    return _shown(fulfilment.mark_delivered(order_id, _admin(body), kit.orders, kit.clock, kit.new_id))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
