from __future__ import annotations

from typing import Protocol

from bazaar.notifications.domain import Notification


class Feeds(Protocol):
    def add_once(self, notification: Notification) -> bool:
        """Adds it to the user's feed; False if that notification id is already there."""
