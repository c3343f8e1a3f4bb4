"""What the realtime use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bazaar.realtime.domain import Connection, JournalEntry


class ConnectionGone(Exception):
    """The client is gone (API Gateway answered 410): its connection record is stale."""


class PushFailed(Exception):
    """A frame could not be posted for another reason (throttled, a timeout): try again later."""


class Connections(Protocol):
    def add(self, connection: Connection, expires_at: datetime) -> None: ...

    def get(self, connection_id: str) -> Connection | None: ...

    def remove(self, connection_id: str) -> None:
        """Idempotent: removing a connection that is not there is no error."""

    def of_audience(self, audience: str) -> list[Connection]:
        """Every connection of the audience (`admins`, or a user's own)."""


class Journal(Protocol):
    def record(self, entry: JournalEntry, expires_at: datetime) -> tuple[JournalEntry, bool]:
        """Writes the entry unless the audience already has one for the event id (a conditional
        write). Returns what the journal holds for it afterwards (the new entry, or the earlier
        one with the connections it reached) and whether it was written now."""

    def mark(self, audience: str, entry: JournalEntry, delivered_to: set[str], complete: bool) -> None:
        """Adds connections the frame reached; `complete` when none is left to try."""

    def position_of(self, audiences: Sequence[str], event_id: str) -> tuple[datetime, str] | None:
        """Where the event sits in these audiences' journals (None: in none of them)."""

    def after(self, audience: str, position: tuple[datetime, str], limit: int) -> list[JournalEntry]:
        """Up to `limit` entries of the audience after the position, oldest first."""


class Pusher(Protocol):
    def post(self, connection_id: str, data: str) -> None:
        """Raises ConnectionGone (410) or PushFailed."""

    def close(self, connection_id: str) -> None:
        """Closes the client's connection (a gone one is no error)."""
