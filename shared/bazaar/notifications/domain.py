from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


NOTIFICATION_ID = r"^ntf_[A-Za-z0-9]{8,40}$"


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


class Notification(BaseModel):
    """One message to one user. `notification_id` is chosen by the producer and is what makes
    delivery exactly-once: a redelivered message carries the same id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: str = Field(pattern=NOTIFICATION_ID)
    user_id: str = Field(min_length=1, max_length=64)
    kind: NotificationKind
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=2000)
    occurred_at: datetime


def announcing(event_id: str, user_id: str, kind: NotificationKind, title: str, body: str,
               occurred_at: datetime) -> Notification:
    """The notification of one event: its id is made from the event's, so a redelivered event
    finds its notification in the feed and adds nothing."""
    return Notification(notification_id="ntf_" + "".join(c for c in event_id.removeprefix("evt_") if c.isalnum())[:40],
                        user_id=user_id, kind=kind, title=title, body=body[:2000], occurred_at=occurred_at)


class FeedEntry(BaseModel):
    """A notification as its owner reads it in the feed."""

    model_config = ConfigDict(frozen=True)

    notification_id: str
    kind: str
    title: str
    body: str
    occurred_at: datetime
    read_at: datetime | None = None

    @property
    def unread(self) -> bool:
        return self.read_at is None
