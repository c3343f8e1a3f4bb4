"""The realtime use cases: a connection opens and closes, a client's frame is answered, and an
event is published to the connections of its audiences (docs/realtime.md).

Publishing is at least once, with the event id in every frame (clients dedupe on it), and
cheap about it: each (audience, event) is journaled once, by a conditional write on its key;
the journal entry then keeps the connections the frame reached and whether the fan-out
finished. A redelivered event therefore posts nothing to a connection the entry says it
reached, and nothing at all once the entry is complete; only a crash between a post and its
mark can post a frame to a connection twice."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from bazaar.platform.clock import Clock
from bazaar.platform.observability import logger
from bazaar.realtime import domain
from bazaar.realtime.domain import Connection, Frame, JournalEntry, LiveEvent
from bazaar.realtime.ports import ConnectionGone, Connections, Journal, Pusher, PushFailed
from bazaar.realtime.schemas import InvalidFrame, Ping, encode, parse_client_frame

# API Gateway closes a WebSocket connection after two hours whatever happens, so a connection
# record older than that is stale; DynamoDB's TTL clears it (cleanup only: a post answered 410
# removes a stale record at once).
CONNECTION_LIFETIME = timedelta(hours=2)


@dataclass(frozen=True)
class Realtime:
    connections: Connections
    journal: Journal
    pusher: Pusher
    clock: Clock
    replay_limit: int  # frames one replay posts before it says `replay.truncated`
    journal_retention: timedelta  # how long an audience's frames can be replayed


@dataclass(frozen=True)
class Published:
    journaled: int  # (audience, event) entries written now; 0 for a redelivery
    posted: int
    gone: int  # stale connections removed
    failed: int  # posts to try again (the message is retried)


class NotAllPosted(PushFailed):
    """Some connections could not be reached; the event is published again (SQS retries the
    message) and only they are tried."""


# -- connections ------------------------------------------------------------------------------


def connect(user_id: str, roles: frozenset[str], connection_id: str, connected_at: datetime,
            kit: Realtime) -> Connection:
    """The authorizer let the user in: their connection joins their audiences."""
    connection = Connection(connection_id, user_id, domain.audiences_of(user_id, roles), connected_at)
    kit.connections.add(connection, expires_at=connected_at + CONNECTION_LIFETIME)
    logger.info("realtime connected", extra={"connection_id": connection_id, "audiences": connection.audiences})
    return connection


def disconnect(connection_id: str, kit: Realtime) -> None:
    kit.connections.remove(connection_id)


# -- a client's frame -------------------------------------------------------------------------


def handle_frame(connection_id: str, body: str | None, kit: Realtime) -> str:
    """Answers one frame of a client. A frame that is not ours is answered with one error frame
    and the connection is closed; the client may connect again."""
    connection = kit.connections.get(connection_id)
    if connection is None:
        _refuse(connection_id, domain.error("This connection is not known; connect again.", "UNAUTHORIZED"), kit)
        return "unknown connection closed"
    try:
        request = parse_client_frame(body)
    except InvalidFrame as invalid:
        _refuse(connection_id, domain.error(str(invalid)), kit)
        return "invalid frame: connection closed"
    if isinstance(request, Ping):
        _send(connection_id, domain.pong(), kit)
        return "pong"
    return replay(connection, request.since, kit)


def _refuse(connection_id: str, frame: Frame, kit: Realtime) -> None:
    try:
        _send(connection_id, frame, kit)
    except PushFailed:
        logger.warning("error frame not posted", extra={"connection_id": connection_id})
    kit.pusher.close(connection_id)
    kit.connections.remove(connection_id)


def _send(connection_id: str, frame: Frame, kit: Realtime) -> bool:
    """Posts the frame; False (and the record removed) when the client is gone."""
    try:
        kit.pusher.post(connection_id, encode(frame))
    except ConnectionGone:
        kit.connections.remove(connection_id)
        return False
    return True


def replay(connection: Connection, since: str, kit: Realtime) -> str:
    """Posts every frame of the connection's audiences journaled after `since`, oldest first,
    at most `replay_limit` of them, then `replay.done`, or `replay.truncated` naming the event
    to replay from next. An event id its audiences never had reads as unavailable, whoever's it
    is, so a replay tells nobody about another user's events."""
    position = kit.journal.position_of(connection.audiences, since)
    if position is None:
        _send(connection.connection_id, domain.replay_unavailable(since), kit)
        return "replay unavailable"
    missed = _merged(connection.audiences, position, kit)
    page = missed[:kit.replay_limit]
    try:
        for entry in page:
            kit.pusher.post(connection.connection_id, entry.frame)
        last = domain.replay_truncated(len(page), page[-1].event_id) if len(missed) > len(page) \
            else domain.replay_done(len(page))
        kit.pusher.post(connection.connection_id, encode(last))
    except ConnectionGone:
        kit.connections.remove(connection.connection_id)
        return "connection gone during replay"
    except PushFailed:
        # The client did not get all of it and can ask again from the last event it has.
        logger.warning("replay interrupted", extra={"connection_id": connection.connection_id})
        return "replay interrupted"
    return f"replayed {len(page)}"


def _merged(audiences: Sequence[str], position: tuple[datetime, str], kit: Realtime) -> list[JournalEntry]:
    """The audiences' entries after the position, oldest first, one per event (the first
    audience's frame: admins' for an admin), up to one more than a replay posts."""
    by_event: dict[str, JournalEntry] = {}
    for audience in audiences:
        for entry in kit.journal.after(audience, position, kit.replay_limit + 1):
            by_event.setdefault(entry.event_id, entry)
    ordered = sorted(by_event.values(), key=lambda e: (e.occurred_at, e.event_id))
    return ordered[:kit.replay_limit + 1]


# -- publishing -------------------------------------------------------------------------------


def publish(event: LiveEvent, kit: Realtime) -> Published:
    """Journals the event's frame for each of its audiences (once per event id) and posts it to
    their connections. A connection in several audiences gets the frame of the first one only.
    Raises NotAllPosted when some posts must be tried again."""
    deliveries = domain.frames_for(event)
    journaled = posted = gone = failed = 0
    for n, (audience, frame) in enumerate(deliveries):
        earlier = {a for a, _ in deliveries[:n]}
        assert frame.event_id and frame.occurred_at  # event frames always carry both
        fresh = JournalEntry(audience, frame.event_id, frame.occurred_at, encode(frame))
        entry, written = kit.journal.record(fresh, expires_at=frame.occurred_at + kit.journal_retention)
        journaled += written
        if entry.complete:
            continue
        reached: set[str] = set()
        misses = 0
        targets = [c.connection_id for c in kit.connections.of_audience(audience)
                   if c.connection_id not in entry.delivered_to and not earlier & set(c.audiences)]
        for cid, result in _post_side_by_side(kit.pusher, targets, entry.frame):
            if result is None:
                reached.add(cid)
            elif isinstance(result, ConnectionGone):
                kit.connections.remove(cid)
                gone += 1
            else:
                misses += 1
        kit.journal.mark(audience, entry, reached, complete=misses == 0)
        posted += len(reached)
        failed += misses
    outcome = Published(journaled, posted, gone, failed)
    logger.info("realtime event published", extra={"event_id": event.event_id, "event_type": event.event_type.value,
                                                   **vars(outcome)})
    if failed:
        raise NotAllPosted(f"{failed} connection(s) not reached for {event.event_id}; retrying")
    return outcome


# Each post is one HTTP call to the management API, independent of the others: an event's
# fan-out sends them side by side rather than one after another.
_PARALLEL_POSTS = 16


def _post_side_by_side(pusher: Pusher, targets: list[str], frame: str
                       ) -> list[tuple[str, ConnectionGone | PushFailed | None]]:
    def post(cid: str) -> tuple[str, ConnectionGone | PushFailed | None]:
        try:
            pusher.post(cid, frame)
        except (ConnectionGone, PushFailed) as outcome:
            return cid, outcome
        return cid, None

    if len(targets) <= 1:
        return [post(cid) for cid in targets]
    with ThreadPoolExecutor(max_workers=min(_PARALLEL_POSTS, len(targets)), thread_name_prefix="post") as pool:
        return list(pool.map(post, targets))


def publish_body(body: str, kit: Realtime) -> Published:
    """The realtime queue's message: one outbox event of any kind (order, payout, refund)."""
    return publish(domain.parse_event(body), kit)
