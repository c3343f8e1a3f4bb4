"""The arithmetic of `make bench-cost`, apart from any stack so that it is unit-tested: DynamoDB
item sizes and request units as DynamoDB bills them on demand, SQS's 64 KB request chunks,
Lambda GB-seconds, and the bill (counts x the price table, per 1,000 lifecycles).

DynamoDB, from its developer guide: an item's size is the sum of its attribute names' and values'
lengths (strings in UTF-8; a number about one byte per two digits plus one; binary as is; booleans
and nulls one byte; lists and maps 3 bytes plus their elements, a map's names counted too). A
write is 1 WRU per 1 KB of the larger of the item before and after, rounded up per item; a
transactional write twice that. A strongly consistent read is 1 RRU per 4 KB, an eventually
consistent read half, a transactional read twice; a Query or Scan rounds the sum of the items it
read once, not per item. A GetItem that finds nothing still costs the minimum. Each global
secondary index the item is in costs a write of its projection; an update that moves the item
within an index costs two (a delete and a put)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench.prices_ap_south_1 import PRICES

KB = 1024


def attribute_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's JSON form ({"S": ...}, {"N": ...}, ...)."""
    [(kind, body)] = value.items()
    if kind == "S":
        return len(body.encode())
    if kind == "N":
        digits = Decimal(body).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(body) if isinstance(body, bytes) else math.ceil(len(body) * 3 / 4)  # base64 on the wire
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(attribute_size({kind[0]: element}) for element in body)
    if kind == "NS":
        return sum(attribute_size({"N": element}) for element in body)
    if kind == "L":
        return 3 + sum(1 + attribute_size(element) for element in body)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + attribute_size(element) for name, element in body.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(size: int, transactional: bool = False) -> int:
    return max(1, math.ceil(size / KB)) * (2 if transactional else 1)


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key attributes, and what it projects (None: every attribute)."""

    keys: tuple[str, ...]
    projected: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()


def index_write_units(table: Table, before: Mapping | None, after: Mapping | None) -> int:
    """What a table write costs in its global secondary indexes (standard writes, never doubled)."""
    units = 0
    for index in table.indexes:
        images = [i for i in (before, after) if i and all(k in i for k in index.keys)]
        if not images:
            continue
        sizes = [item_size(_projection(table, index, image)) for image in images]
        moved = len(images) == 2 and any(images[0][k] != images[1][k] for k in index.keys)
        units += sum(write_units(size) for size in sizes) if moved else write_units(max(sizes))
    return units


def _projection(table: Table, index: Index, image: Mapping) -> dict:
    if index.projected is None:
        return dict(image)
    wanted = {*table.keys, *index.keys, *index.projected}
    return {k: v for k, v in image.items() if k in wanted}


def table_write_units(table: Table, before: Mapping | None, after: Mapping | None, *,
                      transactional: bool = False, succeeded: bool = True) -> int:
    """One item written: the larger image, and its indexes when the write happened."""
    units = write_units(max(item_size(before), item_size(after)), transactional)
    return units + (index_write_units(table, before, after) if succeeded else 0)


def query_read_units(items: list[Mapping], consistent: bool) -> float:
    return read_units(sum(item_size(i) for i in items), consistent)


def sqs_requests(payload_bytes: int) -> int:
    """SQS bills each 64 KB chunk of a request's payload as a request."""
    return max(1, math.ceil(payload_bytes / (64 * KB)))


def gb_seconds(duration_ms: float, memory_mb: int) -> float:
    """Lambda bills duration rounded up to the millisecond, times the configured memory."""
    return math.ceil(duration_ms) / 1000 * memory_mb / 1024


@dataclass
class Line:
    service: str
    count: float
    price_key: str
    per_month: bool = False  # a monthly charge, amortised over the month's lifecycles
    free: bool = False  # counted, but not charged here (Streams reads by Lambda triggers)


@dataclass
class Bill:
    lifecycles: int
    lifecycles_per_month: int
    lines: list[Line] = field(default_factory=list)

    def add(self, service: str, count: float, price_key: str, *, per_month: bool = False, free: bool = False) -> None:
        self.lines.append(Line(service, count, price_key, per_month, free))

    def per_thousand(self, line: Line) -> float:
        """USD per 1,000 lifecycles: measured counts scale with the run's lifecycles; monthly
        charges are spread over the month's lifecycles."""
        price = 0.0 if line.free else PRICES[line.price_key].per_unit
        if line.per_month:
            return line.count * price / self.lifecycles_per_month * 1000
        return line.count * price / self.lifecycles * 1000

    @property
    def total_per_thousand(self) -> float:
        return sum(self.per_thousand(line) for line in self.lines)

    def ranked(self) -> list[Line]:
        return sorted(self.lines, key=self.per_thousand, reverse=True)
