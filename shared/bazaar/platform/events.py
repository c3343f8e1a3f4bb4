"""The JSON every domain event travels as (the outbox item's body, the queues' messages), written
and read from the event's own dataclass fields, so that an order's, a payout's and a refund's
events cannot drift apart in how they spell an instant, an amount or a type. Pure Python.

Written: one object, keys sorted, compact; instants in UTC with a `Z`; enums by value; nested
event dataclasses (an order's lines) as objects; and `"currency": "INR"`, since every amount is
integer paise. Read: each field checked against its annotation (a string must be a string, an int an integer,
an identifier a non-empty string); a field the payload lacks takes its default ("", None or
nothing for a text, an optional or a list without one), an identifier never; fields the class
does not know are ignored, so producers may add fields without a new schema version."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, Self, get_args, get_origin, get_type_hints


class DomainEvent:
    """Mixin for a frozen dataclass of an event: `to_json` and `from_json` from its fields."""

    # How a malformed payload is named in errors ("an order event").
    described_as: ClassVar[str] = "an event"
    # The fields a payload must carry as non-empty strings: what the event is about.
    identifiers: ClassVar[frozenset[str]] = frozenset({"event_id"})

    def to_json(self) -> str:
        values = {f.name: _written(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return json.dumps({**values, "currency": "INR"}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Raises ValueError (or KeyError/TypeError) on a payload that is not such an event."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{cls.described_as} is a JSON object")
        return _read(cls, data)


def _written(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _written(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_written(v) for v in value]
    return value


def _read(cls: type[DomainEvent], data: dict[str, Any]) -> Any:
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = hints[f.name]
        if f.name in data:
            values[f.name] = _as(kind, data[f.name], f.name, f.name in cls.identifiers)
        elif f.name in cls.identifiers:
            raise KeyError(f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            values[f.name] = _absent(kind, f.name)
    return cls(**values)


def _absent(kind: Any, name: str) -> Any:
    """What a field without a default reads as when an older payload lacks it."""
    if kind is str:
        return ""
    if get_origin(kind) in (typing.Union, types.UnionType) and type(None) in get_args(kind):
        return None
    if get_origin(kind) is tuple:
        return ()
    raise KeyError(name)


def _as(kind: Any, value: Any, name: str, identifier: bool) -> Any:
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in get_args(kind) if k is not type(None)]
        return None if value is None else _as(options[0], value, name, identifier)
    if origin is tuple:
        item = get_args(kind)[0]
        # Nested records (an order's lines) are taken as written: their fields are the producer's.
        return tuple(item(**v) if dataclasses.is_dataclass(item) else v for v in value)  # type: ignore[operator]
    if origin is dict or kind is dict:
        return dict(value or {})
    if kind is str:
        if not isinstance(value, str) or (identifier and not value):
            raise ValueError(f"{name} must be a{' non-empty' if identifier else ''} string")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{name} must be an integer")
        return int(value)
    if kind is datetime:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    return value
