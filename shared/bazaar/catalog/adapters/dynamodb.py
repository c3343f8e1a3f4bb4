"""Products in the `catalog` table and stock counters in the `stock` table.

Items:
- catalog  `PRODUCT#<id>` / `PRODUCT`: the product with its variants (a list of maps).
- stock    `VARIANT#<id>` / `STOCK`: available, locked, sold, received.
- stock    `CUSTOMER#<id>` / `HOLDS`: locked_units, the units a customer holds in unpaid orders.

`StockWrites` builds the transact items that move units; the orders adapter puts them in the same
transaction as the order change (as ready-made items, `Transaction.add`), so stock and order never
disagree."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from botocore.exceptions import ClientError

from bazaar.catalog.domain import (
    Product,
    StockAdjustment,
    StockLevel,
    StockMove,
    StockWriteOffTooLarge,
    Variant,
    VariantNotFound,
)
from bazaar.money import Paise
from bazaar.platform.dynamo import (
    batch_get,
    Transaction,
    TransactionCancelled,
    error_code,
    from_item,
    query_page,
    to_item,
    to_value,
)
from bazaar.platform.errors import Conflict

LISTING = "ALL"
_PRODUCT_SK = "PRODUCT"


class ConcurrentEdit(Conflict):
    def __init__(self) -> None:
        super().__init__("The product was changed by another request; read it again and retry.")


def _product_key(product_id: str) -> dict:
    return {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": _PRODUCT_SK}}


def variant_key(variant_id: str) -> dict:
    return {"pk": {"S": f"VARIANT#{variant_id}"}, "sk": {"S": "STOCK"}}


def holds_key(customer_id: str) -> dict:
    return {"pk": {"S": f"CUSTOMER#{customer_id}"}, "sk": {"S": "HOLDS"}}


def _to_product_item(product: Product) -> dict:
    return to_item(
        {
            "pk": f"PRODUCT#{product.product_id}",
            "sk": _PRODUCT_SK,
            "product_id": product.product_id,
            "seller_id": product.seller_id,
            "listing": LISTING,
            "title": product.title,
            "description": product.description,
            "category": product.category,
            "variants": [
                {"variant_id": v.variant_id, "sku": v.sku, "title": v.title, "price_paise": v.price.amount,
                 "attributes": dict(v.attributes)}
                for v in product.variants
            ],
            "created_at": product.created_at.isoformat(),
            "updated_at": product.updated_at.isoformat(),
        }
    )


def _from_product_item(values: dict) -> Product:
    return Product(
        product_id=values["product_id"],
        seller_id=values["seller_id"],
        title=values["title"],
        description=values.get("description", ""),
        category=values["category"],
        variants=tuple(
            Variant(v["variant_id"], v["sku"], v["title"], Paise(v["price_paise"]), dict(v.get("attributes") or {}))
            for v in values.get("variants", [])
        ),
        created_at=datetime.fromisoformat(values["created_at"]),
        updated_at=datetime.fromisoformat(values["updated_at"]),
    )


class StockWrites:
    """Transact items on the stock table. Every move is conditional on the source counter, so a
    variant can never go negative whatever runs concurrently."""

    _MOVES: ClassVar[dict[StockMove, tuple[str, str]]] = {
        StockMove.LOCK: ("available", "locked"),
        StockMove.RELEASE: ("locked", "available"),
        StockMove.SELL_LOCKED: ("locked", "sold"),
        StockMove.SELL_AVAILABLE: ("available", "sold"),
    }

    def __init__(self, table_name: str):
        self.table_name = table_name

    def move(self, move: StockMove, variant_id: str, quantity: int) -> dict:
        source, target = self._MOVES[move]
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": variant_key(variant_id),
                "UpdateExpression": "SET #s = #s - :q, #t = #t + :q",
                "ConditionExpression": "attribute_exists(pk) AND #s >= :q",
                "ExpressionAttributeNames": {"#s": source, "#t": target},
                "ExpressionAttributeValues": {":q": to_value(quantity)},
            }
        }

    def hold(self, customer_id: str, units: int, cap: int) -> dict:
        """Adds to the units a customer holds locked, refused past the cap."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": holds_key(customer_id),
                "UpdateExpression": "SET locked_units = if_not_exists(locked_units, :zero) + :u",
                "ConditionExpression": "attribute_not_exists(locked_units) OR locked_units <= :room",
                "ExpressionAttributeValues": {
                    ":zero": to_value(0), ":u": to_value(units), ":room": to_value(cap - units),
                },
            }
        }

    def unhold(self, customer_id: str, units: int) -> dict:
        # Deliberately unconditional: the cap is an anti-hoarding limit, not accounting, and
        # giving stock back must never be blocked by it.
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": holds_key(customer_id),
                "UpdateExpression": "SET locked_units = if_not_exists(locked_units, :zero) - :u",
                "ExpressionAttributeValues": {":zero": to_value(0), ":u": to_value(units)},
            }
        }


class DynamoDbProducts:
    _KEYS: ClassVar[dict[str, tuple[str, str, str, str]]] = {
        "by-listing": ("pk", "sk", "listing", "product_id"),
        "by-category": ("pk", "sk", "category", "product_id"),
        "by-seller": ("pk", "sk", "seller_id", "product_id"),
    }

    def __init__(self, client, catalog_table: str, stock_table: str):
        self._client = client
        self._table = catalog_table
        self._stock = stock_table

    def _with_opening_stock(self, transaction: Transaction, product: Product,
                            stock: dict[str, int]) -> Transaction:
        for variant_id, units in stock.items():
            transaction.put(
                f"stock:{variant_id}",
                self._stock,
                to_item(
                    {
                        "pk": f"VARIANT#{variant_id}",
                        "sk": "STOCK",
                        "product_id": product.product_id,
                        "available": units,
                        "locked": 0,
                        "sold": 0,
                        "received": units,
                    }
                ),
                condition="attribute_not_exists(pk)",
            )
        return transaction

    def add(self, product: Product, opening_stock: dict[str, int]) -> None:
        transaction = Transaction().put("product", self._table, _to_product_item(product),
                                        condition="attribute_not_exists(pk)")
        self._with_opening_stock(transaction, product, opening_stock).run(self._client)

    def get(self, product_id: str) -> Product | None:
        item = self._client.get_item(TableName=self._table, Key=_product_key(product_id),
                                     ConsistentRead=True).get("Item")
        return _from_product_item(from_item(item)) if item else None

    def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        items = batch_get(self._client, self._table, [_product_key(p) for p in sorted(set(product_ids))],
                          consistent=False)
        return {product.product_id: product for product in map(_from_product_item, items)}

    def replace(self, product: Product, previous: Product, new_stock: dict[str, int]) -> None:
        # Optimistic: the write is conditional on the product being as it was read, so two
        # concurrent edits cannot silently overwrite each other.
        transaction = Transaction().put(
            "product", self._table, _to_product_item(product), condition="updated_at = :u",
            values={":u": to_value(previous.updated_at.isoformat())},
        )
        try:
            self._with_opening_stock(transaction, product, new_stock).run(self._client)
        except TransactionCancelled as cancelled:
            if cancelled.failed("product"):
                raise ConcurrentEdit() from None
            raise

    def page(self, *, category, seller_id, limit, after):
        names: dict[str, str] = {}
        values: dict[str, dict] = {}
        if seller_id:
            index, condition = "by-seller", "seller_id = :seller"
            values[":seller"] = to_value(seller_id)
        elif category:
            index, condition = "by-category", "category = :category"
            values[":category"] = to_value(category)
        else:
            index, condition = "by-listing", "listing = :listing"
            values[":listing"] = to_value(LISTING)
        query = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if seller_id and category:
            query["FilterExpression"] = "#category = :category"
            names["#category"] = "category"
            values[":category"] = to_value(category)
        if names:
            query["ExpressionAttributeNames"] = names
        items, position = query_page(
            self._client, key_attributes=self._KEYS[index], limit=limit, start=after, **query
        )
        return [_from_product_item(i) for i in items], position

    def key_attributes(self, *, category, seller_id) -> tuple[str, ...]:
        index = "by-seller" if seller_id else ("by-category" if category else "by-listing")
        return self._KEYS[index]


class DynamoDbStock:
    def __init__(self, client, stock_table: str):
        self._client = client
        self._table = stock_table

    def levels(self, variant_ids: list[str]) -> dict[str, StockLevel]:
        items = batch_get(self._client, self._table, [variant_key(v) for v in sorted(set(variant_ids))])
        return {level.variant_id: level for level in map(_level, items)}

    def adjust(self, adjustment: StockAdjustment) -> StockLevel:
        condition = "attribute_exists(pk)"
        if adjustment.delta < 0:
            condition += " AND available >= :writeoff"
        values = {":d": to_value(adjustment.delta)}
        if adjustment.delta < 0:
            values[":writeoff"] = to_value(-adjustment.delta)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=variant_key(adjustment.variant_id),
                UpdateExpression="SET available = available + :d, received = received + :d",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                if not error.response.get("Item"):
                    raise VariantNotFound() from None
                raise StockWriteOffTooLarge() from None
            raise
        return _level(from_item(response["Attributes"]))


def _level(values: dict) -> StockLevel:
    return StockLevel(
        variant_id=values["pk"].removeprefix("VARIANT#"),
        available=values["available"],
        locked=values["locked"],
        sold=values["sold"],
        received=values["received"],
    )
