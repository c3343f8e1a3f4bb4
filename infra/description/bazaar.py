"""Bazaar, described once. Both twins are built from `SERVICE`; add functions, routes, queues,
tables, secrets, schedules and alarms here and nowhere else."""

from __future__ import annotations

from infra.description.model import (
    PUBLIC,
    Access,
    Api,
    Function,
    GatewayResponse,
    Index,
    Key,
    MetricAlarm,
    Queue,
    QueueTrigger,
    Role,
    Route,
    Schedule,
    Secret,
    Service,
    Table,
    UserPool,
)

VERSION = "0.1.0"

# Typed and validated at cold start by bazaar.platform.settings.Settings; every function gets them.
SETTINGS: dict[str, str] = {
    "BAZAAR_VERSION": VERSION,
    "LOG_LEVEL": "INFO",
    "MAX_REQUEST_BODY_BYTES": str(64 * 1024),
    "STOCK_LOCK_EXPIRY_MINUTES": "15",
    "STOCK_CLEANUP_INTERVAL_MINUTES": "5",
    "HEARTBEAT_INTERVAL_MINUTES": "5",
    "ORDER_HISTORY_RETENTION_DAYS": "400",
    "PLATFORM_FEE_BPS": "1000",
}

_ADMIN = frozenset({Role.ADMIN})

TABLES = (
    Table(
        name="ops",
        purpose="Operational records: scheduled job runs and the scheduler heartbeat.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        ttl_attribute="expires_at",
    ),
    Table(
        name="idempotency",
        purpose="Powertools idempotency records for short-lived request deduplication.",
        partition_key=Key("id"),
        ttl_attribute="expiration",
    ),
    Table(
        name="notifications",
        purpose="Each user's notification feed, written once per notification id.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(Index("by-notification-id", Key("notification_id")),),
        ttl_attribute="expires_at",
    ),
)

QUEUES = (
    Queue(
        name="notifications",
        purpose="Notifications to users (order paid, shipped, refunded, payout sent)",
        visibility_timeout_seconds=180,
        max_receive_count=5,
    ),
)

SECRETS = (
    Secret(
        name="app-keys",
        purpose="Keys Bazaar itself owns: the HMAC key that makes list cursors tamper-evident.",
        fields=("cursor_signing_key",),
    ),
)

FUNCTIONS = (
    Function(
        name="identity-authorizer",
        handler="functions.identity.authorizer.handler",
        description="API Gateway REQUEST authorizer: Cognito token, revocation and route roles.",
        memory_mb=512,
        timeout_seconds=5,
        uses_user_pool=True,
    ),
    Function(
        name="ops-api",
        handler="functions.ops.api.handler",
        description="Health and admin diagnostics.",
        memory_mb=512,
        timeout_seconds=10,
        tables={"ops": Access.READ, "notifications": Access.READ},
        secrets=("app-keys",),
        routes=(
            Route("GET", "/health", PUBLIC, "Service health: version and dependency reachability"),
            Route("GET", "/v1/admin/diagnostics", _ADMIN, "Operational diagnostics for admins"),
        ),
    ),
    Function(
        name="ops-heartbeat",
        handler="functions.ops.heartbeat_job.handler",
        description="Records that the scheduler is alive; its absence raises an alarm.",
        memory_mb=256,
        timeout_seconds=30,
        tables={"ops": Access.READ_WRITE},
        schedules=(
            Schedule(
                name="heartbeat",
                expression=f"rate({SETTINGS['HEARTBEAT_INTERVAL_MINUTES']} minutes)",
                description="Proves schedules fire; diagnostics shows the last beat.",
            ),
        ),
    ),
    Function(
        name="notifications-worker",
        handler="functions.notifications.notifications_worker.handler",
        description="Writes queued notifications into each user's feed, once per notification id.",
        memory_mb=256,
        timeout_seconds=30,
        tables={"notifications": Access.READ_WRITE},
        queue_triggers=(QueueTrigger(queue="notifications", batch_size=10),),
    ),
)

ALARMS = (
    MetricAlarm(
        name="scheduler-heartbeat-missing",
        description="No scheduler heartbeat for 15 minutes: scheduled jobs (stock cleanup, "
        "payment reconciliation) are probably not running.",
        metric="SchedulerHeartbeat",
        statistic="Sum",
        threshold=1,
        comparison="<",
        period_seconds=900,
        treat_missing_as_breaching=True,
    ),
)

API = Api(
    authorizer="identity-authorizer",
    throttle_rate_per_second=100,
    throttle_burst=200,
    gateway_max_body_bytes=10 * 1024 * 1024,
    gateway_responses=(
        GatewayResponse("MISSING_AUTHENTICATION_TOKEN", 404, "NOT_FOUND", "No route matches this method and path."),
        GatewayResponse("RESOURCE_NOT_FOUND", 404, "NOT_FOUND", "No route matches this method and path."),
        GatewayResponse("UNAUTHORIZED", 401, "UNAUTHORIZED", "A valid access token is required."),
        GatewayResponse("EXPIRED_TOKEN", 401, "UNAUTHORIZED", "The access token has expired."),
        GatewayResponse("ACCESS_DENIED", 403, "FORBIDDEN", "Your role may not call this route."),
        GatewayResponse("REQUEST_TOO_LARGE", 413, "PAYLOAD_TOO_LARGE", "The request body is too large."),
        GatewayResponse("THROTTLED", 429, "THROTTLED", "Too many requests; retry later."),
        GatewayResponse("INTEGRATION_TIMEOUT", 504, "UPSTREAM_TIMEOUT", "The request took too long."),
        GatewayResponse("DEFAULT_4XX", 400, "BAD_REQUEST", "The request could not be accepted."),
        GatewayResponse("DEFAULT_5XX", 500, "INTERNAL_ERROR", "Something went wrong on our side."),
    ),
)

SERVICE = Service(
    name="bazaar",
    api=API,
    user_pool=UserPool(name="bazaar-users"),
    settings=SETTINGS,
    tables=TABLES,
    queues=QUEUES,
    secrets=SECRETS,
    functions=FUNCTIONS,
    alarms=ALARMS,
)
