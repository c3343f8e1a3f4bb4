"""Time as the API shows it: RFC 3339, UTC, `Z`, whole seconds."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

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


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _date_time_text(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("must be an RFC 3339 date-time such as 2026-01-31T18:30:00Z")
    return value


# An instant a client sends (a query parameter, a field): RFC 3339 text as the API documents it;
# pydantic alone would also take a number as seconds since the epoch.
DateTimeText = Annotated[datetime, BeforeValidator(_date_time_text)]
