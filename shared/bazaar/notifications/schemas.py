from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from bazaar.notifications.domain import (
    INDIAN_MOBILE, TRANSACTIONAL, Channel, FeedEntry, NotificationKind, Preferences, goes_by,
)


def _rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


class DeliveryOut(BaseModel):
    state: str
    at: str


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    title: str
    body: str
    occurred_at: str
    read: bool
    read_at: str | None = None
    # Channel -> its delivery state (pending, sending, sent, skipped, failed) and since when.
    deliveries: dict[str, DeliveryOut] = Field(default_factory=dict)

    @classmethod
    def of(cls, entry: FeedEntry) -> NotificationOut:
        return cls(notification_id=entry.notification_id, kind=entry.kind, title=entry.title, body=entry.body,
                   occurred_at=_rfc3339(entry.occurred_at), read=not entry.unread,
                   read_at=_rfc3339(entry.read_at) if entry.read_at else None,
                   deliveries={c: DeliveryOut(state=d.state.value, at=_rfc3339(d.at))
                               for c, d in sorted(entry.deliveries.items())})


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class MarkedRead(BaseModel):
    marked_read: int


class PreferencesIn(BaseModel):
    """Per kind, per channel, whether you want it; kinds and channels left out keep the defaults
    (email on, SMS off). An unknown kind or channel is refused."""

    model_config = ConfigDict(extra="forbid")

    # Strict: 0 and 1 are not the true and false the document promises.
    channels: dict[NotificationKind, dict[Channel, StrictBool]] = Field(default_factory=dict)
    sms_number: str | None = Field(default=None, pattern=INDIAN_MOBILE,
                                   description="Where SMS go: an Indian mobile number, +91 and ten digits")

    def chosen(self) -> Preferences:
        return Preferences(channels=self.channels, sms_number=self.sms_number)


class KindPreference(BaseModel):
    kind: str
    transactional: bool
    # What you chose (or the default) ...
    email: bool
    sms: bool
    # ... and what happens: a transactional kind's email is always sent; SMS need a number.
    email_sent: bool
    sms_sent: bool


class PreferencesOut(BaseModel):
    kinds: list[KindPreference]
    sms_number: str | None
    sms_available: bool

    @classmethod
    def of(cls, preferences: Preferences, sms_enabled: bool) -> PreferencesOut:
        return cls(
            kinds=[KindPreference(
                kind=kind.value, transactional=TRANSACTIONAL[kind],
                email=preferences.chosen(kind, Channel.EMAIL), sms=preferences.chosen(kind, Channel.SMS),
                email_sent=goes_by(kind, Channel.EMAIL, preferences),
                sms_sent=sms_enabled and goes_by(kind, Channel.SMS, preferences),
            ) for kind in NotificationKind],
            sms_number=preferences.sms_number,
            sms_available=sms_enabled,
        )
