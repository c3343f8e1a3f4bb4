"""The realtime context's typed settings (set on its functions by
infra/description/contexts/realtime.py)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from bazaar.platform.settings import Settings


class RealtimeSettings(Settings):
    # Frames one replay posts before it answers `replay.truncated` (the client asks again).
    realtime_replay_limit: int = Field(alias="REALTIME_REPLAY_LIMIT", ge=1, le=1000)
    # How long an audience's frames can be replayed; DynamoDB's TTL clears them after.
    realtime_journal_retention_days: int = Field(alias="REALTIME_JOURNAL_RETENTION_DAYS", ge=1, le=30)

    @property
    def realtime_journal_retention(self) -> timedelta:
        return timedelta(days=self.realtime_journal_retention_days)
