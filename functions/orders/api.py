"""Orders API: a customer's orders, one order (owner or admin), cancelling an unpaid order."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from bazaar.orders import services, wiring
from bazaar.orders.schemas import OrderEventsOut, OrderOut, OrderPage
from bazaar.platform.clock import utc_now
from bazaar.platform.cursors import cursor_codec
from bazaar.platform.dynamo import valid_position
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.pagination import InvalidCursor, clamp_limit
from bazaar.platform.settings import from_environment
from bazaar.orders.settings import OrderBookSettings

settings = from_environment(OrderBookSettings)
api = HttpApi(settings)
app = api.app
orders = wiring.order_book(settings)


@app.get("/v1/orders", summary="Your orders, newest first")
def list_orders(
    limit: Annotated[int | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> OrderPage:
    customer_id = api.caller.user_id
    codec = cursor_codec(settings, f"orders:{customer_id}")
    after = codec.decode(cursor)
    if not valid_position(after, orders.customer_key_attributes()):
        raise InvalidCursor()
    page, position = services.list_orders(customer_id, orders, clamp_limit(limit), after)
    return OrderPage(items=[OrderOut.of(o) for o in page], next_cursor=codec.encode(position))


@app.get("/v1/orders/<order_id>", summary="One order with its history (owner or admin)")
def get_order(order_id: str) -> OrderOut:
    principal = api.caller
    order = services.view_order(order_id, principal.user_id, "admin" in principal.roles, orders)
    return OrderOut.of(order, with_history=True)


@app.get("/v1/orders/<order_id>/events", summary="The order's status history, oldest first (owner or admin)")
def order_events(order_id: str) -> OrderEventsOut:
    principal = api.caller
    return OrderEventsOut.of(order_id, services.order_events(order_id, principal.user_id, "admin" in principal.roles,
                                                             orders))


@app.post("/v1/orders/<order_id>/cancel", summary="Cancel your unpaid order; its stock is released")
def cancel_order(order_id: str) -> OrderOut:
    return OrderOut.of(services.cancel_order(order_id, api.caller.user_id, orders, utc_now), with_history=True)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
