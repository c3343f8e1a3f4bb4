"""API shapes of the catalogue. Requests refuse unknown fields (a seller cannot set `seller_id`
or stock counters through a product body); titles, descriptions and attribute values are reduced
to plain text before their length is checked."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bazaar.catalog.domain import (
    ATTRIBUTE_VALUE_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    Product,
    StockLevel,
    plain_text,
)
from bazaar.catalog.services import ProductDraft, ProductEdit, ProductView, VariantDraft, VariantEdit
from bazaar.money import Paise
from bazaar.platform.clock import rfc3339
from bazaar.platform.ids import id_pattern


def _plain_text(min_length: int, max_length: int, multiline: bool = False):
    def clean(value: str) -> str:
        text = plain_text(value, multiline=multiline)
        if len(text) < min_length:
            raise ValueError(f"must have at least {min_length} characters of text")
        if len(text) > max_length:
            raise ValueError(f"must have at most {max_length} characters")
        return text

    return AfterValidator(clean)


# The raw bound (four times the clean one) keeps the sanitiser's work small; the clean bound is
# what users see. Spelled out as Annotated aliases, not built by a function, so mypy reads them.
Title = Annotated[str, StringConstraints(max_length=TITLE_MAX * 4), _plain_text(3, TITLE_MAX)]
VariantTitle = Annotated[str, StringConstraints(max_length=TITLE_MAX * 4), _plain_text(1, TITLE_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX * 4),
                        _plain_text(0, DESCRIPTION_MAX, multiline=True)]
AttributeValue = Annotated[str, StringConstraints(max_length=ATTRIBUTE_VALUE_MAX * 4),
                           _plain_text(1, ATTRIBUTE_VALUE_MAX)]
AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,29}$")]
Attributes = Annotated[dict[AttributeName, AttributeValue], Field(max_length=20)]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
# At least one rupee, at most one crore: a price outside that is a typo (or a paise/rupee mix-up).
PricePaise = Annotated[int, Field(strict=True, ge=100, le=10**9)]
Units = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
ProductId = Annotated[str, StringConstraints(pattern=id_pattern("prd"))]
VariantId = Annotated[str, StringConstraints(pattern=id_pattern("var"))]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariantIn(_Request):
    sku: Sku
    title: VariantTitle
    price_paise: PricePaise
    stock: Units
    attributes: Attributes = {}

    def draft(self) -> VariantDraft:
        return VariantDraft(self.sku, self.title, Paise(self.price_paise), self.stock, dict(self.attributes))


class ProductIn(_Request):
    title: Title
    description: Description = ""
    category: Category
    variants: Annotated[list[VariantIn], Field(min_length=1, max_length=50)]

    def draft(self) -> ProductDraft:
        return ProductDraft(self.title, self.description, self.category, tuple(v.draft() for v in self.variants))


class VariantChange(_Request):
    variant_id: VariantId
    title: VariantTitle | None = None
    price_paise: PricePaise | None = None
    attributes: Attributes | None = None


class ProductPatch(_Request):
    title: Title | None = None
    description: Description | None = None
    category: Category | None = None
    variants: Annotated[list[VariantChange], Field(max_length=50)] = []
    new_variants: Annotated[list[VariantIn], Field(max_length=50)] = []

    def edit(self) -> ProductEdit:
        return ProductEdit(
            title=self.title,
            description=self.description,
            category=self.category,
            variant_edits=tuple(
                VariantEdit(v.variant_id, v.title, Paise(v.price_paise) if v.price_paise else None, v.attributes)
                for v in self.variants
            ),
            new_variants=tuple(v.draft() for v in self.new_variants),
        )


class StockAdjustmentIn(_Request):
    """Units received (positive) or written off (negative)."""

    delta: Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]


class VariantOut(BaseModel):
    variant_id: str
    sku: str
    title: str
    price_paise: int
    attributes: dict[str, str]
    available: int | None = None


class ProductOut(BaseModel):
    product_id: str
    seller_id: str
    title: str
    description: str
    category: str
    variants: list[VariantOut]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, product: Product, stock: dict[str, StockLevel] | None = None) -> ProductOut:
        return cls(
            product_id=product.product_id,
            seller_id=product.seller_id,
            title=product.title,
            description=product.description,
            category=product.category,
            variants=[
                VariantOut(
                    variant_id=v.variant_id, sku=v.sku, title=v.title, price_paise=v.price.amount,
                    attributes=dict(v.attributes),
                    available=(stock[v.variant_id].available if v.variant_id in stock else 0)
                    if stock is not None else None,
                )
                for v in product.variants
            ],
            created_at=rfc3339(product.created_at),
            updated_at=rfc3339(product.updated_at),
        )

    @classmethod
    def of_view(cls, view: ProductView) -> ProductOut:
        return cls.of(view.product, view.stock)


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


class StockLevelOut(BaseModel):
    variant_id: str
    available: int
    locked: int
    sold: int
    received: int

    @classmethod
    def of(cls, level: StockLevel) -> StockLevelOut:
        return cls(variant_id=level.variant_id, available=level.available, locked=level.locked,
                   sold=level.sold, received=level.received)
