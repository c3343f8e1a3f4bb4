"""Opaque, sortable ids with a type prefix (`ord_01JD...`): 48 bits of milliseconds then 80
random bits, Crockford base32 (the ULID layout), so ids sort by creation time and reveal nothing
a client could use as a key or a sequence number."""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PREFIX = re.compile(r"^[a-z]{2,4}$")


def new_id(prefix: str, now_ms: int | None = None) -> str:
    if not _PREFIX.match(prefix):
        raise ValueError(f"id prefix {prefix!r} must be 2-4 lower-case letters")
    value = ((now_ms if now_ms is not None else int(time.time() * 1000)) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return f"{prefix}_{''.join(reversed(chars))}"


def id_pattern(prefix: str) -> str:
    """A regex for pydantic fields that take an id of this type."""
    return rf"^{prefix}_[{_ALPHABET}]{{26}}$"
