from __future__ import annotations

from typing import Protocol

from bazaar.catalog.domain import Product, StockAdjustment, StockLevel


class Products(Protocol):
    def add(self, product: Product, opening_stock: dict[str, int]) -> None:
        """The product and each variant's opening stock, all or nothing."""

    def get(self, product_id: str) -> Product | None: ...

    def get_many(self, product_ids: list[str]) -> dict[str, Product]: ...

    def replace(self, product: Product, previous: Product, new_stock: dict[str, int]) -> None:
        """Writes the edited product if nobody changed it since `previous` was read (raises
        ConcurrentEdit otherwise); opens stock counters for any new variants."""

    def page(
        self, *, category: str | None, seller_id: str | None, limit: int, after: dict | None
    ) -> tuple[list[Product], dict | None]: ...


class Stock(Protocol):
    def levels(self, variant_ids: list[str]) -> dict[str, StockLevel]: ...

    def adjust(self, adjustment: StockAdjustment) -> StockLevel: ...
