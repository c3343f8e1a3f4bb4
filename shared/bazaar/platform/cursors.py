"""The one way a function builds a list cursor codec: keyed by the `app-keys` secret."""

from __future__ import annotations

from bazaar.platform.pagination import AppKeys, CursorCodec
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import Settings


def cursor_codec(settings: Settings, scope: str) -> CursorCodec:
    keys = load_secret(settings, "app-keys", AppKeys)
    return CursorCodec(keys.cursor_signing_key.get_secret_value().encode(), scope)
