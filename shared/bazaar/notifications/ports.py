from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bazaar.notifications.domain import FeedEntry, Notification


class Feeds(Protocol):
    def add_once(self, notification: Notification) -> bool:
        """Adds it to the user's feed; False if that notification id is already there."""

    def page(self, user_id: str, limit: int, after: dict | None) -> tuple[list[FeedEntry], dict | None]:
        """The user's feed, newest first, and the position after the page (None: no more)."""

    def unread_count(self, user_id: str) -> int: ...

    def mark_read(self, user_id: str, notification_id: str, at: datetime) -> FeedEntry | None:
        """None: the user has no such notification."""
