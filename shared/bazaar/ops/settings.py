"""The ops context's typed settings."""

from __future__ import annotations

from pydantic import Field

from bazaar.platform.settings import Settings


class OpsSettings(Settings):
    heartbeat_interval_minutes: int = Field(alias="HEARTBEAT_INTERVAL_MINUTES", ge=1, le=60)
