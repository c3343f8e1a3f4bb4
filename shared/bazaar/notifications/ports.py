from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bazaar.notifications.domain import Channel, Delivery, DeliveryRequest, FeedEntry, Notification, Preferences


class Feeds(Protocol):
    """Each user's feed; every entry also records each channel's delivery state."""

    def add_once(self, notification: Notification, deliveries: dict[Channel, Delivery]) -> dict[Channel, Delivery]:
        """Adds it to the user's feed with these delivery states, once per notification id, and
        returns the states it has now: the given ones, or (a redelivery) the stored ones."""

    def page(self, user_id: str, limit: int, after: dict | None) -> tuple[list[FeedEntry], dict | None]:
        """The user's feed, newest first, and the position after the page (None: no more)."""

    def unread_count(self, user_id: str) -> int: ...

    def mark_read(self, user_id: str, notification_id: str, at: datetime) -> FeedEntry | None:
        """None: the user has no such notification."""

    def mark_all_read(self, user_id: str, at: datetime) -> int:
        """Marks every unread entry read; how many it marked."""

    def claim(self, notification: Notification, channel: Channel, at: datetime,
              lease_until: datetime) -> Delivery | None:
        """Moves the channel pending -> sending (or takes over a `sending` whose lease ended) and
        returns the claimed state; None if it was not claimable (the current state is then read
        with `delivery`)."""

    def delivery(self, notification: Notification, channel: Channel) -> Delivery | None: ...

    def settle(self, notification: Notification, channel: Channel, claimed: Delivery, outcome: Delivery) -> bool:
        """Records the outcome (sent, failed, or pending again) of the channel as `claimed` (its
        lease names the claim); False if that claim no longer stands (its lease ended and
        another worker took it over)."""


class PreferenceStore(Protocol):
    def get(self, user_id: str) -> Preferences:
        """The user's preferences (the defaults if they never chose)."""

    def put(self, user_id: str, preferences: Preferences, at: datetime) -> None: ...


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str


class Recipients(Protocol):
    def recipient(self, user_id: str) -> Recipient | None:
        """Who a user's email goes to; None: no such user."""


@dataclass(frozen=True)
class Email:
    to: str
    to_name: str
    subject: str
    text: str
    html: str


class TemporaryFailure(Exception):
    """The provider could not take the message now (throttled, 5xx, unreachable): retry later."""


class PermanentFailure(Exception):
    """The provider refused the message for good (rejected, unverified sender, bad request)."""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Sends it; the provider's message id. Raises TemporaryFailure or PermanentFailure."""


class Texter(Protocol):
    def send(self, phone_number: str, text: str) -> str:
        """Sends an SMS; the provider's message id. Raises TemporaryFailure or PermanentFailure."""


class DeliveryQueue(Protocol):
    def enqueue(self, request: DeliveryRequest) -> None: ...
