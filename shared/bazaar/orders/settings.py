"""The orders context's typed settings."""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import Field, field_validator

from bazaar.platform.settings import Settings


class OrderBookSettings(Settings):
    """What every function that reads or writes orders needs."""

    order_history_retention_days: int = Field(alias="ORDER_HISTORY_RETENTION_DAYS", ge=1, le=3650)


class DispatcherSettings(Settings):
    """The event dispatcher's routes (from the description): queue name -> the event types it takes."""

    event_routes: Mapping[str, tuple[str, ...]] = Field(alias="BAZAAR_EVENT_ROUTES", min_length=1)

    @field_validator("event_routes", mode="before")
    @classmethod
    def _parse_routes(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value
