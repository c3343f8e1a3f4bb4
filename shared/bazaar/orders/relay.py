"""The outbox relay: order events, read from the outbox table's stream, go to every consumer's
queue that takes their type.

Delivery is at least once and in order per order: the stream hands over records in the order
they were committed; when a send fails, the relay names the first record not delivered to all
its queues, and the stream mapping hands that record and everything after it over again. So a
relay that fails half-way re-sends some events: consumers act once per event id, never per
message. Event types no consumer takes are acknowledged and go nowhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bazaar.platform.faults import crash_point


@dataclass(frozen=True)
class OutboxRecord:
    position: str  # where it sits in the stream (its sequence number): what a failure names
    event_id: str
    event_type: str
    body: str  # the event as committed (bazaar.orders.events.OrderEvent JSON)


class EventQueues(Protocol):
    def send(self, queue: str, records: Sequence[OutboxRecord]) -> set[str]:
        """Sends each record's event to the queue; returns the event ids that were NOT sent."""


@dataclass(frozen=True)
class Routes:
    """Which queues take which event types (from the description)."""

    queues_by_event: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_queues(cls, events_by_queue: Mapping[str, Sequence[str]]) -> Routes:
        by_event: dict[str, list[str]] = {}
        for queue, event_types in events_by_queue.items():
            for event_type in event_types:
                by_event.setdefault(event_type, []).append(queue)
        return cls({event: tuple(sorted(queues)) for event, queues in by_event.items()})

    def queues_for(self, event_type: str) -> tuple[str, ...]:
        return self.queues_by_event.get(event_type, ())


def relay(records: Sequence[OutboxRecord], routes: Routes, queues: EventQueues) -> str | None:
    """Sends every record to its queues. Returns the position of the first record that did not
    reach all of them (the stream redelivers from there), or None when all did."""
    per_queue: dict[str, list[OutboxRecord]] = {}
    for record in records:
        for queue in routes.queues_for(record.event_type):
            per_queue.setdefault(queue, []).append(record)
    undelivered: set[str] = set()
    for queue, batch in per_queue.items():
        undelivered |= queues.send(queue, batch)
    crash_point("order_events.relayed_before_acknowledged")
    return next((r.position for r in records if r.event_id in undelivered), None)
