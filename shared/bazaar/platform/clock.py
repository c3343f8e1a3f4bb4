"""Time as the API shows it: RFC 3339, UTC, `Z`, whole seconds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# The one clock type every use case takes: it asks for the time when it needs it, so a test (or a
# run that must see one moment throughout) hands it `fixed(...)`.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def fixed(moment: datetime) -> Clock:
    """A clock that always says `moment`."""
    return lambda: moment


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
