"""Use cases of notifications: deliver one (exactly once per notification id), a user's feed,
marking an entry read."""

from __future__ import annotations

from dataclasses import dataclass

from bazaar.notifications.domain import FeedEntry, Notification
from bazaar.notifications.order_updates import notification_for
from bazaar.notifications.payout_updates import notification_for_payout
from bazaar.notifications.refund_updates import notification_for_refund
from bazaar.notifications.ports import Feeds
from bazaar.orders.events import OrderEvent
from bazaar.payouts.events import PayoutEvent
from bazaar.refunds.events import RefundEvent
from bazaar.platform.clock import Clock
from bazaar.platform.errors import NotFound
from bazaar.platform.observability import logger


class NotificationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such notification.")


def deliver(notification: Notification, feeds: Feeds) -> bool:
    """True if delivered now, False if it had been delivered before (a redelivery)."""
    delivered = feeds.add_once(notification)
    logger.info("notification delivered" if delivered else "notification already delivered",
                extra={"notification_id": notification.notification_id})
    return delivered


def tell_the_shopper(event: OrderEvent, feeds: Feeds) -> Notification | None:
    """The shopper's feed entry for an order event, once however often the event comes."""
    notification = notification_for(event)
    logger.info("order event seen", extra={"event_id": event.event_id, "event_type": event.event_type.value,
                                           "notification_id": notification.notification_id if notification else None})
    if notification is None:
        return None
    feeds.add_once(notification)
    return notification


def tell_the_payee(event: PayoutEvent, feeds: Feeds) -> Notification:
    """The seller's or scout's feed entry for a payout or bounty event, once per event."""
    notification = notification_for_payout(event)
    feeds.add_once(notification)
    logger.info("payout event told", extra={"event_id": event.event_id, "notification_id": notification.notification_id})
    return notification


def tell_about_the_refund(event: RefundEvent, feeds: Feeds) -> Notification:
    """The shopper's feed entry for a refund request's event, once per event."""
    notification = notification_for_refund(event)
    feeds.add_once(notification)
    logger.info("refund event told", extra={"event_id": event.event_id, "notification_id": notification.notification_id})
    return notification


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    position: dict | None
    unread: int


def feed(user_id: str, feeds: Feeds, limit: int, after: dict | None) -> FeedPage:
    entries, position = feeds.page(user_id, limit, after)
    return FeedPage(entries, position, feeds.unread_count(user_id))


def mark_read(user_id: str, notification_id: str, feeds: Feeds, clock: Clock) -> FeedEntry:
    entry = feeds.mark_read(user_id, notification_id, clock())
    if entry is None:
        raise NotificationNotFound()
    return entry
