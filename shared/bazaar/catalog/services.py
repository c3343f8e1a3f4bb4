"""Use cases of the catalogue: what sellers and shoppers do with products and stock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from bazaar.catalog.domain import (
    Product,
    ProductNotFound,
    StockAdjustment,
    StockLevel,
    Variant,
    VariantNotFound,
    require_unique_skus,
)
from bazaar.catalog.ports import Products, Stock
from bazaar.money import Paise


@dataclass(frozen=True)
class VariantDraft:
    sku: str
    title: str
    price: Paise
    opening_stock: int
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductDraft:
    title: str
    description: str
    category: str
    variants: tuple[VariantDraft, ...]


@dataclass(frozen=True)
class VariantEdit:
    variant_id: str
    title: str | None = None
    price: Paise | None = None
    attributes: dict[str, str] | None = None


@dataclass(frozen=True)
class ProductEdit:
    title: str | None = None
    description: str | None = None
    category: str | None = None
    variant_edits: tuple[VariantEdit, ...] = ()
    new_variants: tuple[VariantDraft, ...] = ()


@dataclass(frozen=True)
class ProductView:
    product: Product
    stock: dict[str, StockLevel]


def create_product(
    seller_id: str, draft: ProductDraft, products: Products, now: datetime, new_id: Callable[[str], str]
) -> Product:
    variants = tuple(Variant(new_id("var"), d.sku, d.title, d.price, dict(d.attributes)) for d in draft.variants)
    require_unique_skus(variants)
    product = Product(
        product_id=new_id("prd"),
        seller_id=seller_id,
        title=draft.title,
        description=draft.description,
        category=draft.category,
        variants=variants,
        created_at=now,
        updated_at=now,
    )
    products.add(product, {v.variant_id: d.opening_stock for v, d in zip(variants, draft.variants)})
    return product


def _own_product(seller_id: str, product_id: str, products: Products) -> Product:
    product = products.get(product_id)
    # Another seller's product is reported exactly like a missing one: ids are not probes.
    if product is None or not product.owned_by(seller_id):
        raise ProductNotFound()
    return product


def _edited(variant: Variant, edit: VariantEdit) -> Variant:
    attributes = variant.attributes if edit.attributes is None else dict(edit.attributes)
    return replace(variant, title=edit.title or variant.title, price=edit.price or variant.price,
                   attributes=attributes)


def edit_product(
    seller_id: str,
    product_id: str,
    edit: ProductEdit,
    products: Products,
    now: datetime,
    new_id: Callable[[str], str],
) -> Product:
    current = _own_product(seller_id, product_id, products)
    edits = {e.variant_id: e for e in edit.variant_edits}
    unknown = set(edits) - {v.variant_id for v in current.variants}
    if unknown:
        raise VariantNotFound()
    variants = [_edited(v, edits[v.variant_id]) if v.variant_id in edits else v for v in current.variants]
    added = [(Variant(new_id("var"), d.sku, d.title, d.price, dict(d.attributes)), d) for d in edit.new_variants]
    variants += [v for v, _ in added]
    require_unique_skus(tuple(variants))
    updated = replace(
        current,
        title=edit.title or current.title,
        description=edit.description if edit.description is not None else current.description,
        category=edit.category or current.category,
        variants=tuple(variants),
        updated_at=max(now, current.updated_at),
    )
    products.replace(updated, current, {v.variant_id: d.opening_stock for v, d in added})
    return updated


def adjust_stock(
    seller_id: str, product_id: str, variant_id: str, delta: int, products: Products, stock: Stock
) -> StockLevel:
    product = _own_product(seller_id, product_id, products)
    if product.variant(variant_id) is None:
        raise VariantNotFound()
    return stock.adjust(StockAdjustment(variant_id, delta))


def browse_products(
    products: Products, *, category: str | None, seller_id: str | None, limit: int, after: dict | None
) -> tuple[list[Product], dict | None]:
    return products.page(category=category, seller_id=seller_id, limit=limit, after=after)


def view_product(product_id: str, products: Products, stock: Stock) -> ProductView:
    product = products.get(product_id)
    if product is None:
        raise ProductNotFound()
    return ProductView(product, stock.levels([v.variant_id for v in product.variants]))
