"""Small helpers for adapters that talk to DynamoDB through the low-level client (the one API
that expresses a multi-table TransactWriteItems with per-item conditions directly)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
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


def rewrite(values: dict[str, Any], key: Iterable[str]) -> tuple[str, dict[str, str], dict[str, dict]]:
    """(UpdateExpression, names, values) that leave an item as a Put of `values` would (each
    attribute set; a None one removed) while keeping the attributes `values` does not name,
    which other writers own. Placeholders are #a<n> and :v<n>, free for a condition's own."""
    keys = set(key)
    named = [name for name in values if name not in keys]
    names = {f"#a{n}": name for n, name in enumerate(named)}
    setting = [f"#a{n} = :v{n}" for n, name in enumerate(named) if values[name] is not None]
    removing = [f"#a{n}" for n, name in enumerate(named) if values[name] is None]
    expression = " ".join(part for part in (
        "SET " + ", ".join(setting) if setting else "", "REMOVE " + ", ".join(removing) if removing else "") if part)
    return expression, names, {f":v{n}": to_value(values[name]) for n, name in enumerate(named)
                               if values[name] is not None}


def batch_get(client, table: str, keys: Iterable[dict[str, dict]], *, consistent: bool = True
              ) -> list[dict[str, Any]]:
    """The items at `keys` (those that exist, in no particular order), 100 keys a call, with
    DynamoDB's unprocessed keys asked for again."""
    wanted = list(keys)
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 100):
        request: dict[str, Any] = {table: {"Keys": wanted[start:start + 100], "ConsistentRead": consistent}}
        while request:
            response = client.batch_get_item(RequestItems=request)
            found += [from_item(item) for item in response.get("Responses", {}).get(table, [])]
            request = response.get("UnprocessedKeys") or {}
    return found


def stored_time(at: datetime) -> str:
    """How an instant is stored: UTC, fixed width to the millisecond, so that string order is
    time order in keys and conditions."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def read_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


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


class TransactionCancelled(Exception):
    """DynamoDB cancelled a transaction: which of its items failed, by the names they were added
    under, decoded once from CancellationReasons (which come back by position)."""

    def __init__(self, codes: dict[str, str], items: dict[str, dict[str, Any]], error: ClientError):
        failed = {name: code for name, code in codes.items() if code != "None"}
        super().__init__(f"transaction cancelled: {failed or 'no item named'}")
        self.codes = codes
        self.error = error
        self._items = items

    def failed(self, name: str, code: str = "ConditionalCheckFailed") -> bool:
        """Whether the item added as `name` failed for `code` (by default: its condition)."""
        return self.codes.get(name) == code

    def failed_any(self, prefix: str, code: str = "ConditionalCheckFailed") -> bool:
        """Whether any item whose name starts with `prefix` failed for `code`."""
        return any(c == code for name, c in self.codes.items() if name.startswith(prefix))

    @property
    def failed_names(self) -> list[str]:
        """The names of the items that failed, for whatever reason, in the order they were added."""
        return [name for name, code in self.codes.items() if code != "None"]

    def item(self, name: str) -> dict[str, Any] | None:
        """The item as it was when its condition failed, if that item asked for it
        (ReturnValuesOnConditionCheckFailure=ALL_OLD) and it existed."""
        return self._items.get(name)


class Transaction:
    """A TransactWriteItems built from named items, so that a cancellation is read by name
    (`cancelled.failed("order")`) rather than by the position an item happened to be added at.

    Items, keys and expression values are in the low-level client's shapes (see `to_item`,
    `to_value`). `add` takes a ready-made transact item, for the helpers other contexts build
    items with (a stock move, an audit entry)."""

    def __init__(self) -> None:
        self._names: list[str] = []
        self._items: list[dict[str, Any]] = []

    def add(self, name: str, transact_item: dict[str, Any]) -> Transaction:
        if name in self._names:
            raise ValueError(f"a transaction item is already named {name!r}")
        if len(transact_item) != 1 or next(iter(transact_item)) not in ("Put", "Update", "Delete", "ConditionCheck"):
            raise ValueError(f"not a transact item: {sorted(transact_item)}")
        self._names.append(name)
        self._items.append(transact_item)
        return self

    def put(self, name: str, table: str, item: dict[str, dict], *, condition: str | None = None,
            names: dict[str, str] | None = None, values: dict[str, dict] | None = None,
            return_old_on_failure: bool = False) -> Transaction:
        request: dict[str, Any] = {"TableName": table, "Item": item}
        return self.add(name, {"Put": _with_expressions(request, condition, names, values, return_old_on_failure)})

    def update(self, name: str, table: str, key: dict[str, dict], expression: str, *,
               condition: str | None = None, names: dict[str, str] | None = None,
               values: dict[str, dict] | None = None, return_old_on_failure: bool = False) -> Transaction:
        request: dict[str, Any] = {"TableName": table, "Key": key, "UpdateExpression": expression}
        return self.add(name, {"Update": _with_expressions(request, condition, names, values, return_old_on_failure)})

    def delete(self, name: str, table: str, key: dict[str, dict], *, condition: str | None = None,
               names: dict[str, str] | None = None, values: dict[str, dict] | None = None,
               return_old_on_failure: bool = False) -> Transaction:
        request: dict[str, Any] = {"TableName": table, "Key": key}
        return self.add(name, {"Delete": _with_expressions(request, condition, names, values, return_old_on_failure)})

    def condition_check(self, name: str, table: str, key: dict[str, dict], condition: str, *,
                        names: dict[str, str] | None = None, values: dict[str, dict] | None = None,
                        return_old_on_failure: bool = False) -> Transaction:
        request: dict[str, Any] = {"TableName": table, "Key": key}
        return self.add(name, {"ConditionCheck": _with_expressions(request, condition, names, values,
                                                                   return_old_on_failure)})

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The TransactItems, in the order they were added."""
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def run(self, client, *, tries: int = 5) -> None:
        """Writes it all or nothing, retrying contention (`with_conflict_retries`); raises
        TransactionCancelled when DynamoDB cancels it for any other reason."""
        if not self._items:
            raise ValueError("an empty transaction writes nothing")
        items = self.items
        try:
            with_conflict_retries(lambda: client.transact_write_items(TransactItems=items), tries=tries)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            codes = {name: (reasons[n].get("Code", "None") if n < len(reasons) else "None")
                     for n, name in enumerate(self._names)}
            old = {name: from_item(reasons[n]["Item"]) for n, name in enumerate(self._names)
                   if n < len(reasons) and reasons[n].get("Item")}
            raise TransactionCancelled(codes, old, error) from error


def _with_expressions(request: dict[str, Any], condition: str | None, names: dict[str, str] | None,
                      values: dict[str, dict] | None, return_old_on_failure: bool) -> dict[str, Any]:
    if condition:
        request["ConditionExpression"] = condition
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    if return_old_on_failure:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return request


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


def query_items(client, **query: Any) -> Iterator[dict[str, Any]]:
    """Every item a query matches, page after page (for sets known to be small: a user's
    connections, their unread entries)."""
    while True:
        response = client.query(**query)
        yield from (from_item(item) for item in response.get("Items", []))
        if not response.get("LastEvaluatedKey"):
            return
        query = {**query, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def count(client, **query: Any) -> int:
    """How many items a query (Select COUNT) matches, over every page."""
    total, request = 0, {**query, "Select": "COUNT"}
    while True:
        response = client.query(**request)
        total += response.get("Count", 0)
        if not response.get("LastEvaluatedKey"):
            return total
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def count_and_first(client, first_attribute: str, **query: Any) -> tuple[int, Any]:
    """How many items a query matches, and `first_attribute` of the first in the index's order
    (None when it matches nothing): on an index sorted by a stored time, the oldest item's."""
    first = client.query(**query, Limit=1).get("Items", [])
    return count(client, **query), from_item(first[0]).get(first_attribute) if first else None


def valid_position(position: dict | None, key_attributes: Iterable[str]) -> bool:
    return position is None or (
        set(position) == set(key_attributes) and all(isinstance(v, str) and v for v in position.values())
    )
