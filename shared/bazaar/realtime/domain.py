"""Who receives which live update, and the frame they receive. Pure Python.

An *audience* is a set of connections that receive the same frames: each user's own
(`user:<id>`, every connection that user opened) and `admins` (every connection opened by an
admin). A connection belongs to its user's audience and, for an admin, to `admins` too.

`DELIVERIES` is the one table of which event goes to whom, as which frame. A frame holds only
what its audience may see: a shopper's frame of their order names the order, its status and the
event, never the lines (their sellers), the actor or another user's id."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bazaar.orders.events import OrderEvent, OrderEventType
from bazaar.payouts.events import PayoutEvent, PayoutEventType
from bazaar.refunds.domain import RefundStatus
from bazaar.refunds.events import RefundEvent, RefundEventType

ADMINS = "admins"
ADMIN_ROLE = "admin"
# What event ids look like across the order, payout and refund outboxes (`evt_<subject>_<n>`,
# `evt_bounty_<recruit>`): a replay's `since` is checked against it before any lookup.
EVENT_ID = r"^evt_[A-Za-z0-9_-]{1,120}$"
_EVENT_ID = re.compile(EVENT_ID)


def user_audience(user_id: str) -> str:
    return f"user:{user_id}"


def audiences_of(user_id: str, roles: frozenset[str]) -> tuple[str, ...]:
    """The audiences a user's connection joins: their own, and `admins` for an admin. Admins
    come first: a connection in both receives an event's admin frame (see `frames_for`)."""
    return ((ADMINS,) if ADMIN_ROLE in roles else ()) + (user_audience(user_id),)


def is_event_id(text: str) -> bool:
    return bool(_EVENT_ID.match(text))


class FrameType(StrEnum):
    ORDER_UPDATED = "order.updated"
    SHIPMENT_FAILED = "ops.shipment_failed"
    PAYOUT_FAILED = "ops.payout_failed"
    REFUND_AWAITING_APPROVAL = "ops.refund_awaiting_approval"
    PONG = "pong"
    ERROR = "error"
    REPLAY_DONE = "replay.done"
    REPLAY_TRUNCATED = "replay.truncated"
    REPLAY_UNAVAILABLE = "replay.unavailable"


@dataclass(frozen=True)
class Frame:
    """What one client receives. Event frames carry the event's id (clients dedupe on it) and
    when it happened (the journal's order)."""

    type: FrameType
    fields: Mapping[str, Any]
    event_id: str | None = None
    occurred_at: datetime | None = None

    def body(self) -> dict[str, Any]:
        event = {"event_id": self.event_id, "occurred_at": _moment(self.occurred_at)} if self.event_id else {}
        return {"type": self.type.value, **event, **self.fields}


def _moment(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if at else None


class Recipient(StrEnum):
    OWNER = "owner"  # the user the event is about: an order's customer
    ADMINS = "admins"


LiveEvent = OrderEvent | PayoutEvent | RefundEvent
FrameBuilder = Callable[[Any], Frame]


@dataclass(frozen=True)
class Delivery:
    recipient: Recipient
    frame: FrameBuilder


@dataclass(frozen=True)
class Rule:
    deliveries: tuple[Delivery, ...]
    # Events of the type that are live updates only when this holds (None: all of them).
    when: Callable[[Any], bool] | None = None


def _order_updated(event: OrderEvent) -> Frame:
    return Frame(FrameType.ORDER_UPDATED, {
        "event_type": event.event_type.value, "order_id": event.order_id,
        "status": event.to_status, "previous_status": event.from_status,
    }, event.event_id, event.occurred_at)


def _shipment_failed(event: OrderEvent) -> Frame:
    return Frame(FrameType.SHIPMENT_FAILED, {
        "event_type": event.event_type.value, "order_id": event.order_id, "customer_id": event.customer_id,
        "status": event.to_status, "previous_status": event.from_status, "reason": event.reason,
    }, event.event_id, event.occurred_at)


def _payout_failed(event: PayoutEvent) -> Frame:
    return Frame(FrameType.PAYOUT_FAILED, {
        "event_type": event.event_type.value, "payout_id": event.subject_id, "payee_id": event.payee_id,
        "payee_role": event.payee_role, "amount_paise": event.amount_paise, "reason": event.reason,
    }, event.event_id, event.occurred_at)


def _refund_awaiting(event: RefundEvent) -> Frame:
    return Frame(FrameType.REFUND_AWAITING_APPROVAL, {
        "event_type": event.event_type.value, "refund_id": event.refund_id, "order_id": event.order_id,
        "customer_id": event.customer_id, "amount_paise": event.amount_paise, "reason": event.reason,
    }, event.event_id, event.occurred_at)


def _awaits_an_admin(event: RefundEvent) -> bool:
    # A request the policy approved, or an admin's own (approved by asking), opens as APPROVED;
    # only one opened as REQUESTED waits for a decision.
    return event.status == RefundStatus.REQUESTED.value


_EVERY_ORDER_EVENT = Rule((Delivery(Recipient.ADMINS, _order_updated), Delivery(Recipient.OWNER, _order_updated)))

# Which event goes to whom, as which frame. Admins first: a connection in several audiences
# receives the frame of the first delivery that reaches it, once.
DELIVERIES: Mapping[str, Rule] = {
    **{kind.value: _EVERY_ORDER_EVENT for kind in OrderEventType},
    # The shopper sees a failed shipment as a status change; admins see it as something to act on.
    OrderEventType.SHIPMENT_FAILED.value: Rule((Delivery(Recipient.ADMINS, _shipment_failed),
                                                Delivery(Recipient.OWNER, _order_updated))),
    PayoutEventType.PAYOUT_FAILED.value: Rule((Delivery(Recipient.ADMINS, _payout_failed),)),
    RefundEventType.REFUND_REQUEST_OPENED.value: Rule((Delivery(Recipient.ADMINS, _refund_awaiting),),
                                                      when=_awaits_an_admin),
}


def live_event_types() -> tuple[str, ...]:
    """The event types the realtime consumer takes (its queue's route in the description)."""
    return tuple(sorted(DELIVERIES))


def parse_event(body: str | bytes) -> LiveEvent:
    """An outbox event as relayed to the realtime queue: its type says which kind it is. Raises
    ValueError (or KeyError/TypeError) on a payload that is none of them."""
    kind = json.loads(body).get("event_type")
    if kind in {t.value for t in PayoutEventType}:
        return PayoutEvent.from_json(body)
    if kind in {t.value for t in RefundEventType}:
        return RefundEvent.from_json(body)
    return OrderEvent.from_json(body)


def _owner(event: LiveEvent) -> str | None:
    return event.customer_id if isinstance(event, OrderEvent | RefundEvent) else None


def frames_for(event: LiveEvent) -> tuple[tuple[str, Frame], ...]:
    """(audience, frame) for each audience the event goes to, in the table's order; nothing for
    an event that is no live update."""
    rule = DELIVERIES.get(event.event_type.value)
    if rule is None or (rule.when is not None and not rule.when(event)):
        return ()
    out: list[tuple[str, Frame]] = []
    for delivery in rule.deliveries:
        if delivery.recipient is Recipient.ADMINS:
            out.append((ADMINS, delivery.frame(event)))
        elif (owner := _owner(event)) is not None:
            out.append((user_audience(owner), delivery.frame(event)))
    return tuple(out)


def pong() -> Frame:
    return Frame(FrameType.PONG, {})


def error(message: str, code: str = "VALIDATION_FAILED") -> Frame:
    return Frame(FrameType.ERROR, {"error": {"code": code, "message": message}})


def replay_done(count: int) -> Frame:
    return Frame(FrameType.REPLAY_DONE, {"count": count})


def replay_truncated(count: int, next_since: str) -> Frame:
    """More frames were missed than one replay sends: ask again from `next_since`."""
    return Frame(FrameType.REPLAY_TRUNCATED, {"count": count, "next_since": next_since})


def replay_unavailable(since: str) -> Frame:
    return Frame(FrameType.REPLAY_UNAVAILABLE, {
        "since": since,
        "message": "That event is not in your journal (unknown, not yours, or older than the journal keeps); "
                   "reload your state instead of replaying.",
    })


@dataclass(frozen=True)
class Connection:
    connection_id: str
    user_id: str
    audiences: tuple[str, ...]
    connected_at: datetime

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.audiences


@dataclass(frozen=True)
class JournalEntry:
    """A frame as an audience's journal keeps it, with the connections it was posted to."""

    audience: str
    event_id: str
    occurred_at: datetime
    frame: str  # the frame's JSON, exactly as posted
    delivered_to: frozenset[str] = frozenset()
    complete: bool = False  # posted to every connection the audience had when it was published
