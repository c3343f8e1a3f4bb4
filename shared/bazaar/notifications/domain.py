from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


NOTIFICATION_ID = r"^ntf_[A-Za-z0-9]{8,40}$"
# E.164 for Indian mobile numbers: +91 and ten digits, the first 6-9 (SMS goes to mobiles only).
INDIAN_MOBILE = r"^\+91[6-9][0-9]{9}$"


class NotificationKind(StrEnum):
    ORDER_PAID = "order_paid"
    PAYMENT_FAILED = "payment_failed"
    ORDER_EXPIRED = "order_expired"
    ORDER_SHIPMENT_BOOKED = "order_shipment_booked"
    ORDER_SHIPPED = "order_shipped"
    ORDER_DELIVERED = "order_delivered"
    ORDER_REFUNDED = "order_refunded"
    PAYOUT_SENT = "payout_sent"
    PAYOUT_REQUESTED = "payout_requested"
    PAYOUT_FAILED = "payout_failed"
    PAYOUT_REVERSED = "payout_reversed"
    BOUNTY_EARNED = "bounty_earned"
    REFUND_REQUESTED = "refund_requested"
    REFUND_APPROVED = "refund_approved"
    REFUND_REJECTED = "refund_rejected"
    REFUND_FAILED = "refund_failed"
    ACCOUNT = "account"


K = NotificationKind

# Whether each kind is transactional: about money that moved or failed to (a payment, a refund, a
# payout). A transactional email always goes, whatever the user's preferences say: the user must
# be able to know what happened to their money. The others follow the preferences. One table, so
# a new kind cannot be added without deciding (a unit test keeps it complete).
TRANSACTIONAL: dict[NotificationKind, bool] = {
    K.ORDER_PAID: True,
    K.PAYMENT_FAILED: True,
    K.ORDER_REFUNDED: True,
    K.REFUND_REQUESTED: True,
    K.REFUND_APPROVED: True,
    K.REFUND_REJECTED: True,
    K.REFUND_FAILED: True,
    K.PAYOUT_SENT: True,
    K.PAYOUT_REQUESTED: True,
    K.PAYOUT_FAILED: True,
    K.PAYOUT_REVERSED: True,
    K.ORDER_EXPIRED: False,
    K.ORDER_SHIPMENT_BOOKED: False,
    K.ORDER_SHIPPED: False,
    K.ORDER_DELIVERED: False,
    K.BOUNTY_EARNED: False,
    K.ACCOUNT: False,
}


class Channel(StrEnum):
    """Where a notification goes besides the feed (the in-app channel, always written: it is
    also the history)."""

    EMAIL = "email"
    SMS = "sms"


class DeliveryState(StrEnum):
    PENDING = "pending"  # decided, not yet sent (a delivery message is or will be queued)
    SENDING = "sending"  # claimed by one worker until its lease ends
    SENT = "sent"
    SKIPPED = "skipped"  # the user's preference or the service's setting says no
    FAILED = "failed"  # the provider refused it for good; not retried


# A worker holds a claimed channel this long: longer than its function may run (so a live send is
# never taken over), shorter than the queue's visibility timeout (so the retry after a crash finds
# the lease over).
SEND_LEASE = timedelta(seconds=90)


class Notification(BaseModel):
    """One message to one user. `notification_id` is chosen by the producer and is what makes
    delivery exactly-once: a redelivered message carries the same id. `facts` are the structured
    values its templates show (order id, amount_paise, awb, utr, reason...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: str = Field(pattern=NOTIFICATION_ID)
    user_id: str = Field(min_length=1, max_length=64)
    kind: NotificationKind
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=2000)
    occurred_at: datetime
    facts: dict[str, str | int | bool] = Field(default_factory=dict)

    @property
    def transactional(self) -> bool:
        return TRANSACTIONAL[self.kind]


def announcing(event_id: str, user_id: str, kind: NotificationKind, title: str, body: str,
               occurred_at: datetime, facts: dict[str, Any] | None = None) -> Notification:
    """The notification of one event: its id is made from the event's, so a redelivered event
    finds its notification in the feed and adds nothing."""
    kept = {k: v for k, v in (facts or {}).items() if isinstance(v, str | int | bool) and v != ""}
    return Notification(notification_id="ntf_" + "".join(c for c in event_id.removeprefix("evt_") if c.isalnum())[:40],
                        user_id=user_id, kind=kind, title=title, body=body[:2000], occurred_at=occurred_at,
                        facts=kept)


class Delivery(BaseModel):
    """One channel's state on one notification."""

    model_config = ConfigDict(frozen=True)

    state: DeliveryState
    at: datetime
    attempts: int = 0
    lease_until: datetime | None = None
    provider_message_id: str | None = None
    reason: str | None = None


class Preferences(BaseModel):
    """A user's choices: per kind and channel whether they want it, and the number SMS go to.
    A kind or channel not mentioned takes the default (email on, SMS off)."""

    model_config = ConfigDict(frozen=True)

    channels: dict[NotificationKind, dict[Channel, bool]] = Field(default_factory=dict)
    sms_number: str | None = None

    @field_validator("sms_number")
    @classmethod
    def _mobile(cls, number: str | None) -> str | None:
        if number is not None and not re.fullmatch(INDIAN_MOBILE, number):
            raise ValueError("sms_number must be an Indian mobile number in E.164 form, +91 and ten digits")
        return number

    def chosen(self, kind: NotificationKind, channel: Channel) -> bool:
        return self.channels.get(kind, {}).get(channel, DEFAULTS[channel])


DEFAULTS: dict[Channel, bool] = {Channel.EMAIL: True, Channel.SMS: False}


def goes_by(kind: NotificationKind, channel: Channel, preferences: Preferences) -> bool:
    """Whether the user effectively gets this kind on this channel, preferences and the
    transactional rule taken together (what the preferences API reports)."""
    if channel is Channel.EMAIL and TRANSACTIONAL[kind]:
        return True
    if channel is Channel.SMS and preferences.sms_number is None:
        return False
    return preferences.chosen(kind, channel)


def plan_deliveries(notification: Notification, preferences: Preferences, sms_enabled: bool,
                    at: datetime) -> dict[Channel, Delivery]:
    """Each channel's first state: pending if it is to go, skipped (with why) if not."""
    plan: dict[Channel, Delivery] = {}
    for channel in Channel:
        if channel is Channel.SMS and not sms_enabled:
            plan[channel] = Delivery(state=DeliveryState.SKIPPED, at=at, reason="sms is disabled")
        elif goes_by(notification.kind, channel, preferences):
            plan[channel] = Delivery(state=DeliveryState.PENDING, at=at)
        else:
            plan[channel] = Delivery(state=DeliveryState.SKIPPED, at=at, reason="the user's preference")
    return plan


class DeliveryRequest(BaseModel):
    """A message on the `notifications` queue: send this notification on this channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification: Notification
    channel: Channel


class FeedEntry(BaseModel):
    """A notification as its owner reads it in the feed."""

    model_config = ConfigDict(frozen=True)

    notification_id: str
    kind: str
    title: str
    body: str
    occurred_at: datetime
    read_at: datetime | None = None
    deliveries: dict[str, Delivery] = Field(default_factory=dict)

    @property
    def unread(self) -> bool:
        return self.read_at is None
