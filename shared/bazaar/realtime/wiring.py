"""The realtime context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.realtime.adapters.apigateway import ApiGatewayPusher, management_client
from bazaar.realtime.adapters.dynamodb import DynamoDbConnections, DynamoDbJournal
from bazaar.realtime.services import Realtime
from bazaar.realtime.settings import RealtimeSettings

WEBSOCKET_API = "realtime"


class NoJournal:
    """For the functions that only record connections ($connect, $disconnect)."""

    def record(self, entry, expires_at):
        raise RuntimeError("this function does not journal frames")

    def mark(self, audience, entry, delivered_to, complete):
        raise RuntimeError("this function does not journal frames")

    def position_of(self, audiences, event_id):
        raise RuntimeError("this function does not read the journal")

    def after(self, audience, position, limit):
        raise RuntimeError("this function does not read the journal")


class NoPusher:
    """For the functions that only record connections ($connect, $disconnect)."""

    def post(self, connection_id: str, data: str) -> None:
        raise RuntimeError("this function does not post to WebSocket connections")

    def close(self, connection_id: str) -> None:
        raise RuntimeError("this function does not close WebSocket connections")


def realtime(settings: RealtimeSettings, *, pushes: bool = False) -> Realtime:
    """The kit. A function that pushes (its description says pushes_to=("realtime",)) gets the
    management API of the `realtime` WebSocket API and the journal; the others only record
    connections."""
    dynamodb = aws.client("dynamodb")
    return Realtime(
        connections=DynamoDbConnections(dynamodb, settings.table("connections")),
        journal=DynamoDbJournal(dynamodb, settings.table("realtime-journal")) if pushes else NoJournal(),
        pusher=ApiGatewayPusher(management_client(settings.websocket_endpoint(WEBSOCKET_API))) if pushes
        else NoPusher(),
        clock=utc_now,
        replay_limit=settings.realtime_replay_limit,
        journal_retention=settings.realtime_journal_retention,
    )
