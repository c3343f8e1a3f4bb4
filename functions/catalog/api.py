"""Catalogue API: public listings and product pages; a seller's own products and stock."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query

from bazaar.catalog import services, wiring
from bazaar.catalog.schemas import (
    Category,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    StockAdjustmentIn,
    StockLevelOut,
)
from bazaar.platform.clock import utc_now
from bazaar.platform.cursors import cursor_codec
from bazaar.platform.dynamo import valid_position
from bazaar.platform.http import HttpApi
from bazaar.platform.ids import new_id
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.pagination import InvalidCursor, clamp_limit
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
api = HttpApi(settings)
app = api.app
catalogue = wiring.catalogue(settings)
products, stock = catalogue.products, catalogue.stock


def _json(status: int, model) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=model.model_dump(mode="json"))


@app.get("/v1/products", summary="List products, newest first")
def list_products(
    category: Annotated[Category | None, Query()] = None,
    seller_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ProductPage:
    codec = cursor_codec(settings, f"products:{category or ''}:{seller_id or ''}")
    after = codec.decode(cursor)
    if not _position_fits(after, category, seller_id):
        raise InvalidCursor()
    page, position = services.browse_products(
        products, category=category, seller_id=seller_id, limit=clamp_limit(limit), after=after
    )
    return ProductPage(items=[ProductOut.of(p) for p in page], next_cursor=codec.encode(position))


def _position_fits(position, category, seller_id) -> bool:
    return valid_position(position, products.key_attributes(category=category, seller_id=seller_id))


@app.get("/v1/products/<product_id>", summary="One product with its variants and availability")
def get_product(product_id: str) -> ProductOut:
    return ProductOut.of_view(services.view_product(product_id, products, stock))


@app.post("/v1/seller/products", summary="Create a product (seller)")
def create_product(product: ProductIn) -> Response[ProductOut]:
    created = services.create_product(api.caller.user_id, product.draft(), products, utc_now(), new_id)
    return _json(201, ProductOut.of(created))


@app.patch("/v1/seller/products/<product_id>", summary="Edit your product (seller)")
def edit_product(product_id: str, patch: ProductPatch) -> ProductOut:
    edited = services.edit_product(api.caller.user_id, product_id, patch.edit(), products, utc_now(), new_id)
    return ProductOut.of(edited)


@app.post("/v1/seller/products/<product_id>/variants/<variant_id>/stock",
          summary="Receive or write off stock of your variant (seller)")
def adjust_stock(product_id: str, variant_id: str, adjustment: StockAdjustmentIn) -> StockLevelOut:
    level = services.adjust_stock(api.caller.user_id, product_id, variant_id, adjustment.delta, products, stock)
    return StockLevelOut.of(level)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
