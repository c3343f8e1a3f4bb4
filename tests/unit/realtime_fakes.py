"""In-memory stand-ins for the realtime ports, keeping the conditions of the DynamoDB adapters
(bazaar.realtime.adapters.dynamodb): one journal entry per (audience, event id), entries in
(occurred_at, event id) order, connections found by user and by the admins audience. The pusher
fake is API Gateway's @connections as a client sees it: a gone client answers 410, a flaky one
fails a set number of times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bazaar.realtime.domain import ADMINS, Connection, JournalEntry, user_audience
from bazaar.realtime.ports import ConnectionGone, PushFailed
from bazaar.realtime.services import Realtime


@dataclass
class FakeConnections:
    records: dict[str, Connection] = field(default_factory=dict)
    expiry: dict[str, datetime] = field(default_factory=dict)

    def add(self, connection: Connection, expires_at: datetime) -> None:
        self.records[connection.connection_id] = connection
        self.expiry[connection.connection_id] = expires_at

    def get(self, connection_id: str) -> Connection | None:
        return self.records.get(connection_id)

    def remove(self, connection_id: str) -> None:
        self.records.pop(connection_id, None)

    def of_audience(self, audience: str) -> list[Connection]:
        if audience == ADMINS:
            return [c for c in self.records.values() if c.is_admin]
        return [c for c in self.records.values() if user_audience(c.user_id) == audience]


@dataclass
class FakeJournal:
    entries: dict[tuple[str, str], JournalEntry] = field(default_factory=dict)
    expiry: dict[tuple[str, str], datetime] = field(default_factory=dict)
    writes: int = 0  # conditional puts that wrote an entry

    def record(self, entry: JournalEntry, expires_at: datetime) -> tuple[JournalEntry, bool]:
        key = (entry.audience, entry.event_id)
        if key in self.entries:
            return self.entries[key], False
        self.entries[key] = entry
        self.expiry[key] = expires_at
        self.writes += 1
        return entry, True

    def mark(self, audience: str, entry: JournalEntry, delivered_to: set[str], complete: bool) -> None:
        key = (audience, entry.event_id)
        current = self.entries[key]
        self.entries[key] = replace(current, delivered_to=current.delivered_to | delivered_to,
                                    complete=current.complete or complete)

    def position_of(self, audiences: Sequence[str], event_id: str) -> tuple[datetime, str] | None:
        for audience in audiences:
            if (audience, event_id) in self.entries:
                return self.entries[(audience, event_id)].occurred_at, event_id
        return None

    def after(self, audience: str, position: tuple[datetime, str], limit: int) -> list[JournalEntry]:
        mine = sorted((e for (a, _), e in self.entries.items() if a == audience),
                      key=lambda e: (e.occurred_at, e.event_id))
        return [e for e in mine if (e.occurred_at, e.event_id) > position][:limit]


@dataclass
class FakePusher:
    posted: list[tuple[str, str]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    failures_left: dict[str, int] = field(default_factory=dict)  # connection -> posts that fail

    def post(self, connection_id: str, data: str) -> None:
        if connection_id in self.gone or connection_id in self.closed:
            raise ConnectionGone(connection_id)
        if self.failures_left.get(connection_id, 0) > 0:
            self.failures_left[connection_id] -= 1
            raise PushFailed(f"throttled posting to {connection_id}")
        self.posted.append((connection_id, data))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def to(self, connection_id: str) -> list[str]:
        return [data for cid, data in self.posted if cid == connection_id]


NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def realtime_kit(replay_limit: int = 200) -> tuple[Realtime, FakeConnections, FakeJournal, FakePusher]:
    connections, journal, pusher = FakeConnections(), FakeJournal(), FakePusher()
    kit = Realtime(connections=connections, journal=journal, pusher=pusher, clock=lambda: NOW,
                   replay_limit=replay_limit, journal_retention=timedelta(days=3))
    return kit, connections, journal, pusher
