"""Realtime: live updates to shoppers' and admins' dashboards over the `realtime` WebSocket API
(docs/realtime.md). Connections are recorded on $connect (after the identity authorizer let the
caller in) and removed on $disconnect or when a post answers 410; the dispatcher relays order,
payout and refund events to `realtime-events`, whose worker journals each frame per audience
and posts it to the audience's connections; a client replays what it missed from the journal."""

from infra.description.model import (
    EVERY_ROLE, Access, Function, Index, Key, Queue, QueueTrigger, Table, WebSocketApi,
)

# The events the realtime worker takes: every order event (its shopper's and the admins' live
# status), and the operational ones admins act on. A unit test keeps this equal to
# bazaar.realtime.domain.DELIVERIES.
REALTIME_EVENTS = (
    "Delivered", "DeliveryAttemptFailed", "InTransit", "NeedsRefund", "OrderCancelled", "OrderExpired", "OrderPaid",
    "OrderPlaced", "OutForDelivery", "PartiallyRefunded", "PaymentFailed", "PayoutFailed", "RefundRequestOpened",
    "RefundRequested", "Refunded", "ReturnedToSeller", "ReturningToSeller", "ShipmentCancelled", "ShipmentCreated",
    "ShipmentFailed", "ShipmentLost", "Shipped",
)

# Tunable per function (README, "Settings"): how many frames one replay posts, and how long an
# audience's frames are kept to be replayed.
REALTIME_SETTINGS = {
    "REALTIME_REPLAY_LIMIT": "200",
    "REALTIME_JOURNAL_RETENTION_DAYS": "3",
}

TABLES = (
    Table(
        name="connections",
        purpose="Open WebSocket connections: each one's user, the audiences it joined and when.",
        partition_key=Key("pk"),
        indexes=(
            Index("by-user", Key("user_id"), Key("connection_id")),
            # Sparse: only admins' connections carry `audience`, so the fan-out to admins reads
            # exactly those.
            Index("by-audience", Key("audience"), Key("connection_id")),
        ),
        # connected_at + 2 h, when API Gateway closes a connection anyway. Cleanup only: a post
        # answered 410 removes a stale record at once.
        ttl_attribute="expires_at",
    ),
    Table(
        name="realtime-journal",
        purpose="Each audience's live frames in the order things happened, written once per event; "
                "what a reconnecting client replays.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(Index("by-event", Key("event_id"), Key("audience")),),
        # occurred_at + REALTIME_JOURNAL_RETENTION_DAYS.
        ttl_attribute="expires_at",
    ),
)

QUEUES = (
    Queue(
        name="realtime-events",
        purpose="Order, payout and refund events relayed from the outbox for live dashboards",
        visibility_timeout_seconds=180,
        max_receive_count=5,
    ),
)

FUNCTIONS = (
    Function(
        name="realtime-connect",
        handler="functions.realtime.connect.handler",
        description="WebSocket $connect: records the caller's connection with its audiences.",
        memory_mb=256,
        timeout_seconds=5,
        environment=REALTIME_SETTINGS,
        tables={"connections": Access.READ_WRITE},
    ),
    Function(
        name="realtime-disconnect",
        handler="functions.realtime.disconnect.handler",
        description="WebSocket $disconnect: removes the connection's record.",
        memory_mb=256,
        timeout_seconds=5,
        environment=REALTIME_SETTINGS,
        tables={"connections": Access.READ_WRITE},
    ),
    Function(
        name="realtime-frames",
        handler="functions.realtime.frames.handler",
        description="WebSocket $default: answers ping and replay frames; refuses and closes on a bad frame.",
        memory_mb=256,
        timeout_seconds=29,
        environment=REALTIME_SETTINGS,
        tables={"connections": Access.READ_WRITE, "realtime-journal": Access.READ},
        pushes_to=("realtime",),
    ),
    Function(
        name="realtime-events-worker",
        handler="functions.realtime.events_worker.handler",
        description="Journals each relayed event's frame per audience, once, and posts it to their connections.",
        memory_mb=256,
        timeout_seconds=30,
        environment=REALTIME_SETTINGS,
        tables={"connections": Access.READ_WRITE, "realtime-journal": Access.READ_WRITE},
        queue_triggers=(QueueTrigger(queue="realtime-events", batch_size=10),),
        pushes_to=("realtime",),
    ),
)

WEBSOCKET_APIS = (
    WebSocketApi(
        name="realtime",
        purpose="Live order updates for shoppers; every order and operational events for admins.",
        connect="realtime-connect",
        disconnect="realtime-disconnect",
        default="realtime-frames",
        authorizer="identity-authorizer",
        roles=EVERY_ROLE,
    ),
)
