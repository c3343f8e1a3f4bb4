from infra.description.model import Access, Function, Index, Key, Role, Route, Table

CUSTOMER = frozenset({Role.CUSTOMER})

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
            # Order items only: operators list the orders in a status that needs them (NEEDS_REFUND).
            Index("by-status", Key("status"), Key("updated_at")),
            # Sparse: only payments PhonePe has not settled carry `check_state`, so reconciliation
            # reads exactly the payments whose next status check is due.
            Index("by-payment-check", Key("check_state"), Key("next_check_at")),
        ),
    ),
)

FUNCTIONS = (
    Function(
        name="orders-api",
        handler="functions.orders.api.handler",
        description="A customer's orders: list, read, cancel an unpaid one (releasing its stock).",
        memory_mb=512,
        timeout_seconds=10,
        tables={"orders": Access.READ_WRITE, "stock": Access.READ_WRITE},
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
)
