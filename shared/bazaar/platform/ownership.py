"""Objects are scoped to their owner: someone else's object is answered exactly like a missing
one (404), so ids cannot be probed to learn what exists (no IDOR, no existence oracle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from bazaar.platform.errors import NotFound

T = TypeVar("T")


def owned_or_404(found: T | None, owner_id: Callable[[T], str | None], caller_id: str, what: str = "resource") -> T:
    """`found` if it exists and belongs to `caller_id`; NotFound otherwise, with the same message
    either way."""
    if found is None or owner_id(found) != caller_id:
        raise NotFound(f"No such {what}.")
    return found
