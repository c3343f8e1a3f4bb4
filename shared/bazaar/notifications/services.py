from __future__ import annotations

from bazaar.notifications.domain import Notification
from bazaar.notifications.ports import Feeds


def deliver(notification: Notification, feeds: Feeds) -> bool:
    """True if delivered now, False if it had been delivered before (a redelivery)."""
    return feeds.add_once(notification)
