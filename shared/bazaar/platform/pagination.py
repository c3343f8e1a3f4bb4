"""List pagination as docs/api-conventions.md fixes it: `?limit=` (default 20, at most 100) and an opaque
`?cursor=` that is HMAC-signed, so a client can neither forge a position nor read our keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from bazaar.platform.errors import BazaarError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class AppKeys(BaseModel):
    """The `app-keys` secret."""

    cursor_signing_key: SecretStr = Field(min_length=32)


class InvalidCursor(BazaarError):
    code = "VALIDATION_FAILED"

    def __init__(self) -> None:
        super().__init__("The cursor is invalid or was altered.", details=[{"field": "cursor", "issue": "invalid"}])


class CursorCodec:
    def __init__(self, key: bytes, scope: str):
        # The scope (e.g. "orders:usr_..") stops a cursor from one list being replayed on another.
        self._key = key
        self._scope = scope.encode()

    def encode(self, position: dict[str, Any] | None) -> str | None:
        if not position:
            return None
        payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
        signature = hmac.new(self._key, self._scope + b"|" + payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")

    def decode(self, cursor: str | None) -> dict[str, Any] | None:
        if not cursor:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            signature, payload = raw[:16], raw[16:]
            expected = hmac.new(self._key, self._scope + b"|" + payload, hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(signature, expected):
                raise InvalidCursor()
            position = json.loads(payload)
        except (ValueError, TypeError):
            raise InvalidCursor() from None
        if not isinstance(position, dict):
            raise InvalidCursor()
        return position


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise BazaarError("limit must be at least 1", code="VALIDATION_FAILED",
                          details=[{"field": "limit", "issue": "must be between 1 and 100"}])
    return min(limit, MAX_LIMIT)
