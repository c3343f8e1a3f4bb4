"""Use cases of notifications: tell a user about an event (the feed entry, each channel's delivery
decided and queued, exactly once per event), send one queued delivery (exactly once per
notification and channel, within the bound in docs/notifications.md), a user's feed, marking
entries read, and a user's preferences."""

from __future__ import annotations

from dataclasses import dataclass

from bazaar.notifications.domain import (
    SEND_LEASE, Channel, Delivery, DeliveryRequest, DeliveryState, FeedEntry, Notification, Preferences,
    plan_deliveries,
)
from bazaar.notifications.order_updates import notification_for
from bazaar.notifications.payout_updates import notification_for_payout
from bazaar.notifications.ports import (
    DeliveryQueue, Feeds, Mailer, PermanentFailure, PreferenceStore, Recipients, TemporaryFailure, Texter,
)
from bazaar.notifications.refund_updates import notification_for_refund
from bazaar.orders.events import OrderEvent
from bazaar.payouts.events import PayoutEvent
from bazaar.platform.clock import Clock
from bazaar.platform.errors import NotFound
from bazaar.platform.observability import logger
from bazaar.refunds.events import RefundEvent

S = DeliveryState


class NotificationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such notification.")


class ChannelBusy(Exception):
    """Another worker holds this channel's claim and its lease has not ended: the message is
    retried (SQS visibility timeout) and then finds it sent, or the lease over."""


@dataclass(frozen=True)
class Outlets:
    """What telling a user needs: the feed (which also records deliveries), their preferences,
    the delivery queue and whether SMS is on at all (SMS_ENABLED)."""

    feeds: Feeds
    preferences: PreferenceStore
    deliveries: DeliveryQueue
    clock: Clock
    sms_enabled: bool = False


def tell(notification: Notification, outlets: Outlets) -> dict[Channel, Delivery]:
    """The feed entry with each channel's delivery decided, and one delivery message per channel
    still pending. A redelivered event finds the entry and re-queues only what is still pending,
    so a crash between the write and the queueing loses nothing and a sent channel is never
    queued again."""
    planned = plan_deliveries(notification, outlets.preferences.get(notification.user_id), outlets.sms_enabled,
                              outlets.clock())
    deliveries = outlets.feeds.add_once(notification, planned)
    for channel, delivery in deliveries.items():
        if delivery.state is S.PENDING:
            outlets.deliveries.enqueue(DeliveryRequest(notification=notification, channel=channel))
    logger.info("notification told", extra={"notification_id": notification.notification_id,
                                            "deliveries": {c.value: d.state.value for c, d in deliveries.items()}})
    return deliveries


def tell_the_shopper(event: OrderEvent, outlets: Outlets) -> Notification | None:
    """The shopper's notification for an order event, once however often the event comes."""
    notification = notification_for(event)
    logger.info("order event seen", extra={"event_id": event.event_id, "event_type": event.event_type.value,
                                           "notification_id": notification.notification_id if notification else None})
    if notification is None:
        return None
    tell(notification, outlets)
    return notification


def tell_the_payee(event: PayoutEvent, outlets: Outlets) -> Notification:
    """The seller's or scout's notification for a payout or bounty event, once per event."""
    notification = notification_for_payout(event)
    tell(notification, outlets)
    return notification


def tell_about_the_refund(event: RefundEvent, outlets: Outlets) -> Notification:
    """The shopper's notification for a refund request's event, once per event."""
    notification = notification_for_refund(event)
    tell(notification, outlets)
    return notification


@dataclass(frozen=True)
class Senders:
    feeds: Feeds
    recipients: Recipients
    preferences: PreferenceStore
    mailer: Mailer
    texter: Texter | None
    clock: Clock


def send(request: DeliveryRequest, senders: Senders) -> Delivery | None:
    """Sends one queued delivery, exactly once per notification and channel: the channel is
    claimed first (pending -> sending, with a lease), so a redelivered message for a channel
    already sent (or failed, or skipped) sends nothing and two workers never both send. A
    temporary provider failure gives the claim back and raises (SQS retries, then the DLQ); a
    permanent one is recorded as failed and not retried. Returns the recorded outcome; None when
    there was nothing to send."""
    notification, channel = request.notification, request.channel
    now = senders.clock()
    claimed = senders.feeds.claim(notification, channel, now, now + SEND_LEASE)
    where = {"notification_id": notification.notification_id, "channel": channel.value}
    if claimed is None:
        current = senders.feeds.delivery(notification, channel)
        if current is not None and current.state is S.SENDING:
            raise ChannelBusy(f"{channel.value} of {notification.notification_id} is being sent by another worker")
        logger.info("delivery already settled", extra={**where, "state": current.state.value if current else None})
        return None
    try:
        message_id = _send_by(channel, notification, senders)
    except TemporaryFailure:
        senders.feeds.settle(notification, channel, claimed, claimed.model_copy(
            update={"state": S.PENDING, "lease_until": None, "at": senders.clock()}))
        logger.warning("delivery failed for now; retried", extra=where)
        raise
    except PermanentFailure as refusal:
        outcome = claimed.model_copy(update={"state": S.FAILED, "lease_until": None, "at": senders.clock(),
                                             "reason": str(refusal)[:500]})
        senders.feeds.settle(notification, channel, claimed, outcome)
        logger.error("delivery refused for good", extra={**where, "reason": outcome.reason})
        return outcome
    outcome = claimed.model_copy(update={"state": S.SENT, "lease_until": None, "at": senders.clock(),
                                         "provider_message_id": message_id})
    if not senders.feeds.settle(notification, channel, claimed, outcome):
        logger.warning("delivery sent after its lease ended", extra=where)
    logger.info("delivery sent", extra={**where, "provider_message_id": message_id})
    return outcome


def _send_by(channel: Channel, notification: Notification, senders: Senders) -> str:
    # Only the worker that sends renders, and its wiring (senders) has loaded the templates at
    # cold start already; the event consumers and the API never pay for jinja2.
    from bazaar.notifications.rendering import email_for, sms_for

    if channel is Channel.EMAIL:
        recipient = senders.recipients.recipient(notification.user_id)
        if recipient is None:
            raise PermanentFailure("the user does not exist")
        return senders.mailer.send(email_for(notification, recipient))
    number = senders.preferences.get(notification.user_id).sms_number
    if senders.texter is None:
        raise PermanentFailure("sms is disabled")
    if number is None:
        raise PermanentFailure("the user has no sms number")
    return senders.texter.send(number, sms_for(notification))


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


def mark_all_read(user_id: str, feeds: Feeds, clock: Clock) -> int:
    return feeds.mark_all_read(user_id, clock())


def preferences(user_id: str, store: PreferenceStore) -> Preferences:
    return store.get(user_id)


def choose(user_id: str, chosen: Preferences, store: PreferenceStore, clock: Clock) -> Preferences:
    """Stores the user's choices as given. A transactional kind's email is stored as chosen too,
    but still goes (the API reports it as always sent): turning it back on later needs nothing."""
    store.put(user_id, chosen, clock())
    return chosen
