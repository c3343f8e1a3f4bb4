"""The catalogue context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from dataclasses import dataclass

from bazaar.catalog.adapters.dynamodb import DynamoDbProducts, DynamoDbStock
from bazaar.platform import aws
from bazaar.platform.settings import Settings


@dataclass(frozen=True)
class Catalogue:
    products: DynamoDbProducts
    stock: DynamoDbStock


def catalogue(settings: Settings) -> Catalogue:
    dynamodb = aws.client("dynamodb", count_round_trips=settings.count_aws_calls)
    return Catalogue(DynamoDbProducts(dynamodb, settings.table("catalog"), settings.table("stock")),
                     DynamoDbStock(dynamodb, settings.table("stock")))
