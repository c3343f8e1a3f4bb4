"""Products, variants and stock, as a seller and a shopper see them. Pure Python.

Stock accounting for one variant: `available + locked + sold == received`, every counter >= 0.
Units move between the counters only through a `StockMove`; the storage adapter turns each move
into a conditional update, so the invariant holds under any concurrency."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from html.parser import HTMLParser
from typing import ClassVar

from bazaar.money import Paise
from bazaar.platform.errors import BazaarError, NotFound

TITLE_MAX = 120
DESCRIPTION_MAX = 2000
ATTRIBUTE_VALUE_MAX = 100


# -- text that reaches other users -----------------------------------------------------------


class _TextOnly(HTMLParser):
    """Keeps the text of a fragment; drops every tag, and the contents of script and style."""

    _DROP_CONTENT: ClassVar[set[str]] = {"script", "style", "iframe", "object", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._DROP_CONTENT:
            self._dropping += 1

    def handle_endtag(self, tag):
        if tag in self._DROP_CONTENT and self._dropping:
            self._dropping -= 1

    def handle_data(self, data):
        if not self._dropping:
            self.parts.append(data)


def plain_text(raw: str, *, multiline: bool = False) -> str:
    """Seller-written text as plain text: no markup survives, so nothing a seller writes can run
    in a shopper's browser however a client renders it. Entities are decoded first and any
    angle bracket left afterwards is dropped (`&lt;script&gt;` must not become a tag)."""
    parser = _TextOnly()
    parser.feed(raw)
    parser.close()
    text = "".join(parser.parts).replace("<", "").replace(">", "")
    text = unicodedata.normalize("NFC", text)
    # Control and format characters (bidi overrides, zero-width joiners used to spoof) go.
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    if multiline:
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return re.sub(r"\s+", " ", text).strip()


# -- products --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    variant_id: str
    sku: str
    title: str
    price: Paise
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Product:
    product_id: str
    seller_id: str
    title: str
    description: str
    category: str
    variants: tuple[Variant, ...]
    created_at: datetime
    updated_at: datetime

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.variant_id == variant_id), None)

    def owned_by(self, seller_id: str) -> bool:
        return self.seller_id == seller_id


class ProductNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such product.")


class VariantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such variant of this product.")


class DuplicateSku(BazaarError):
    code = "VALIDATION_FAILED"

    def __init__(self, sku: str) -> None:
        super().__init__("Each variant of a product needs its own SKU.",
                         details=[{"field": "variants", "issue": f"SKU {sku} is used twice"}])


def require_unique_skus(variants: tuple[Variant, ...]) -> None:
    seen: set[str] = set()
    for variant in variants:
        if variant.sku.lower() in seen:
            raise DuplicateSku(variant.sku)
        seen.add(variant.sku.lower())


# -- stock -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockLevel:
    variant_id: str
    available: int
    locked: int
    sold: int
    received: int

    @property
    def balanced(self) -> bool:
        counters = (self.available, self.locked, self.sold, self.received)
        return all(c >= 0 for c in counters) and self.available + self.locked + self.sold == self.received


class StockMove(StrEnum):
    """How units move between a variant's counters. Each is all-or-nothing per variant and is
    refused (never clamped) when the source counter holds fewer units than asked."""

    LOCK = "lock"  # available -> locked: checkout
    RELEASE = "release"  # locked -> available: cancel, expiry, failed payment
    SELL_LOCKED = "sell_locked"  # locked -> sold: confirmed payment within the lock
    SELL_AVAILABLE = "sell_available"  # available -> sold: late payment after the lock was released


@dataclass(frozen=True)
class StockAdjustment:
    """A seller receiving stock (delta > 0) or writing it off (delta < 0): changes `received`
    and `available` together; never touches units locked by or sold to customers."""

    variant_id: str
    delta: int


class OutOfStock(BazaarError):
    code = "OUT_OF_STOCK"

    def __init__(self, variant_ids: list[str]) -> None:
        self.variant_ids = sorted(set(variant_ids))
        super().__init__(
            "Not enough stock for some items; nothing was locked.",
            details=[{"field": "variant_id", "issue": f"{v} does not have enough stock"} for v in self.variant_ids],
        )


class StockWriteOffTooLarge(BazaarError):
    code = "CONFLICT"

    def __init__(self) -> None:
        super().__init__("Cannot write off more units than are available (locked and sold units stay).")


class LockLimitReached(BazaarError):
    code = "LOCK_LIMIT_REACHED"

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"One customer may hold at most {cap} units locked in unpaid orders; pay or cancel one first."
        )
