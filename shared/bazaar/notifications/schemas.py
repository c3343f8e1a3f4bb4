from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from bazaar.notifications.domain import FeedEntry


def _rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    title: str
    body: str
    occurred_at: str
    read: bool
    read_at: str | None = None

    @classmethod
    def of(cls, entry: FeedEntry) -> NotificationOut:
        return cls(notification_id=entry.notification_id, kind=entry.kind, title=entry.title, body=entry.body,
                   occurred_at=_rfc3339(entry.occurred_at), read=not entry.unread,
                   read_at=_rfc3339(entry.read_at) if entry.read_at else None)


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int
