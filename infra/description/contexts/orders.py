from infra.description.contexts.notifications import NOTIFIED_EVENTS, NOTIFIED_PAYOUT_EVENTS, NOTIFIED_REFUND_EVENTS
from infra.description.contexts.ops import MEASURED_EVENTS
from infra.description.contexts.payments import PHONEPE_SETTINGS
from infra.description.contexts.payouts import FOLLOWED_EVENTS
from infra.description.contexts.refunds import ORDER_REFUND_EVENTS, STARTING_EVENTS
from infra.description.contexts.realtime import REALTIME_EVENTS
from infra.description.contexts.shipping import SHIPROCKET_API
from infra.description.model import (
    Access, EventRoute, Function, Index, Key, Queue, Role, Route, Schedule, StreamTrigger, Table,
)

CUSTOMER = frozenset({Role.CUSTOMER})
ADMIN = frozenset({Role.ADMIN})

TABLES = (
    Table(
        name="orders",
        purpose="Orders, each order's append-only status history and its payment (same partition).",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        # History entries expire after ORDER_HISTORY_RETENTION_DAYS; orders and payments never do.
        ttl_attribute="expires_at",
        indexes=(
            Index("by-customer", Key("customer_id"), Key("order_id")),
            # Sparse: only orders that still hold stock locks carry `lock_state`, so the cleanup
            # reads exactly the locks that may have expired, oldest first.
            Index("by-lock-expiry", Key("lock_state"), Key("lock_expires_at")),
            # Sparse: orders an admin must look at (SHIPMENT_FAILED), for diagnostics.
            Index("by-attention", Key("attention"), Key("updated_at")),
            # Sparse: refunds PhonePe has not settled yet, for the refund-status poll.
            Index("by-open-refund", Key("refund_open"), Key("requested_at")),
            # Order items only: operators list the orders in a status that needs them (NEEDS_REFUND).
            Index("by-status", Key("status"), Key("updated_at")),
            # Sparse: only payments PhonePe has not settled carry `check_state`, so reconciliation
            # reads exactly the payments whose next status check is due.
            Index("by-payment-check", Key("check_state"), Key("next_check_at")),
        ),
    ),
    Table(
        name="order-events",
        purpose="The outbox: each order or payout change's event, written in the change's own "
                "transaction; its stream feeds the event dispatcher.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        # The stream delivers an event within seconds; the item is kept a week for operators.
        ttl_attribute="expires_at",
        stream="NEW_IMAGE",
    ),
)

QUEUES = (
    Queue(
        name="order-events-undelivered",
        purpose="Descriptions of outbox stream batches the dispatcher could not relay after its retries",
        visibility_timeout_seconds=60,
        # Nobody consumes it: an operator reads it (its depth alarms) and replays from the outbox.
        retention_seconds=14 * 24 * 3600 - 1,
    ),
)

FUNCTIONS = (
    Function(
        name="orders-api",
        handler="functions.orders.api.handler",
        description="A customer's orders: list, read, cancel an unpaid one (releasing its stock).",
        memory_mb=512,
        timeout_seconds=10,
        tables={"orders": Access.READ_WRITE, "order-events": Access.WRITE, "stock": Access.READ_WRITE},
        secrets=("app-keys",),
        routes=(
            Route("GET", "/v1/orders", CUSTOMER, "Your orders, newest first"),
            Route("GET", "/v1/orders/{order_id}", frozenset({Role.CUSTOMER, Role.ADMIN}),
                  "One order with its history (its owner or an admin)"),
            Route("POST", "/v1/orders/{order_id}/cancel", CUSTOMER, "Cancel your unpaid order and release its stock"),
            Route("GET", "/v1/orders/{order_id}/events", frozenset({Role.CUSTOMER, Role.ADMIN}),
                  "The order's status history, oldest first (its owner or an admin)"),
        ),
    ),
    Function(
        name="orders-admin-api",
        handler="functions.orders.admin_api.handler",
        description="Admin overrides after payment: retry or cancel the shipment, mark delivered (audited).",
        memory_mb=512,
        timeout_seconds=29,
        environment={**PHONEPE_SETTINGS, **SHIPROCKET_API},
        # The PhonePe generation is a flag (phonepe_api_version); the setting is its fallback.
        reads_flags=True,
        # stock: only named (the order book's constructor); these transitions move no stock.
        tables={"orders": Access.READ_WRITE, "order-events": Access.WRITE, "stock": Access.READ,
                "audit": Access.READ_WRITE},
        secrets=("phonepe", "shiprocket"),
        sends_to=("shipments",),
        routes=(
            Route("GET", "/v1/admin/orders/{order_id}", ADMIN,
                  "One order with its history, shipment and refunds (unsettled refunds are re-checked)"),
            Route("POST", "/v1/admin/orders/{order_id}/retry-shipment", ADMIN,
                  "Queue the shipment again, also after its job ended in the DLQ (audited, with a reason)"),
            Route("POST", "/v1/admin/orders/{order_id}/cancel-shipment", ADMIN,
                  "Cancel the order's Shiprocket shipment (audited, with a reason)"),
            Route("POST", "/v1/admin/orders/{order_id}/mark-delivered", ADMIN,
                  "Mark the order delivered (audited, with a reason)"),
        ),
    ),
    Function(
        name="orders-events-dispatcher",
        handler="functions.orders.events_dispatcher.handler",
        description="Relays each committed order event from the outbox's stream to the queues of the "
        "consumers that take its type.",
        memory_mb=256,
        timeout_seconds=30,
        stream_triggers=(
            # The relay fails only when a queue cannot be reached: retry for long (the shard waits,
            # so events stay in order) before an event is parked on the failure queue for replay.
            StreamTrigger(table="order-events", batch_size=100, max_batching_window_seconds=0,
                          max_retry_attempts=100, bisect_batch_on_error=True, max_record_age_seconds=24 * 3600,
                          on_failure_queue="order-events-undelivered"),
        ),
        sends_to=("shipments", "order-notifications", "order-metrics", "payout-order-events", "payout-notifications",
                  "refund-workflow-events", "refund-notifications", "realtime-events"),
        event_routes=(
            # Paid: ship it (the shipments worker reads the order id from the event).
            EventRoute("shipments", ("OrderPaid",)),
            EventRoute("order-notifications", NOTIFIED_EVENTS),
            EventRoute("order-metrics", MEASURED_EVENTS),
            EventRoute("payout-order-events", FOLLOWED_EVENTS),
            # Payout events share the outbox (bazaar.platform.outbox): the payee's feed.
            EventRoute("payout-notifications", NOTIFIED_PAYOUT_EVENTS),
            # Refund requests share it too: their workflow starts, and the shopper's feed.
            EventRoute("refund-workflow-events", STARTING_EVENTS + ORDER_REFUND_EVENTS),
            EventRoute("refund-notifications", NOTIFIED_REFUND_EVENTS),
            # Live updates: every event's frame to the people allowed to see it (shopper, admins).
            EventRoute("realtime-events", REALTIME_EVENTS),
        ),
    ),
    Function(
        name="orders-refund-status",
        handler="functions.orders.refund_status_job.handler",
        description="Asks PhonePe about unsettled refunds and moves their orders to (PARTIALLY_)REFUNDED.",
        memory_mb=256,
        timeout_seconds=60,
        environment=PHONEPE_SETTINGS,
        # The PhonePe generation is a flag (phonepe_api_version); the setting is its fallback.
        reads_flags=True,
        tables={"orders": Access.READ_WRITE, "order-events": Access.WRITE, "stock": Access.READ},
        secrets=("phonepe",),
        schedules=(
            Schedule(name="refund-status", expression="rate(5 minutes)",
                     description="Follows refunds PhonePe has not settled yet (the webhook may be lost)."),
        ),
    ),
)
