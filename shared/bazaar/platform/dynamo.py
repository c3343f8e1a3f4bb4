"""Small helpers for adapters that talk to DynamoDB through the low-level client (the one API
that expresses a multi-table TransactWriteItems with per-item conditions directly)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
T = TypeVar("T")


def to_item(values: dict[str, Any]) -> dict[str, dict]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def to_value(value: Any) -> dict:
    return _serializer.serialize(value)


def from_item(item: dict[str, dict]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    # Numbers come back as Decimal; Bazaar stores only integers (paise, units).
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def cancellation_codes(error: ClientError) -> list[str]:
    """Per transact item, why a TransactWriteItems was cancelled ('None' for items that were fine)."""
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def with_conflict_retries(attempt: Callable[[], T], *, tries: int = 5, base_seconds: float = 0.02) -> T:
    """Runs a transaction, retrying it (full jitter) when DynamoDB cancels it only because another
    transaction touched the same items at the same moment. A failed condition is an answer, not
    contention, and is raised at once."""
    for n in range(tries):
        try:
            return attempt()
        except ClientError as error:
            contention = error_code(error) == "TransactionConflictException" or (
                error_code(error) == "TransactionCanceledException"
                and "TransactionConflict" in cancellation_codes(error)
                and "ConditionalCheckFailed" not in cancellation_codes(error)
            )
            if not contention or n == tries - 1:
                raise
            time.sleep(random.uniform(0, base_seconds * 2**n))
    raise AssertionError("unreachable")


def query_page(
    client,
    *,
    key_attributes: Iterable[str],
    limit: int,
    start: dict[str, str] | None,
    **query: Any,
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """One page of a query, and the position after its last item if (and only if) more items
    follow, so an exactly full last page does not hand out a cursor to an empty page.
    `key_attributes` are the table's and the index's key names (all strings)."""
    keys = tuple(key_attributes)
    items: list[dict] = []
    exclusive = {k: {"S": v} for k, v in start.items()} if start else None
    while len(items) <= limit:
        request = {**query, "Limit": limit + 1 - len(items)}
        if exclusive:
            request["ExclusiveStartKey"] = exclusive
        response = client.query(**request)
        items += response.get("Items", [])
        exclusive = response.get("LastEvaluatedKey")
        if not exclusive:
            break
    page = [from_item(i) for i in items[:limit]]
    more = len(items) > limit
    position = {k: page[-1][k] for k in keys} if more and page else None
    return page, position


def valid_position(position: dict | None, key_attributes: Iterable[str]) -> bool:
    return position is None or (
        set(position) == set(key_attributes) and all(isinstance(v, str) and v for v in position.values())
    )
