from infra.description.model import PUBLIC, Access, Function, MetricAlarm, Role, Route, Schedule, Table, Key
from infra.description.settings import SETTINGS

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
)

FUNCTIONS = (
    Function(
        name="ops-api",
        handler="functions.ops.api.handler",
        description="Health and admin diagnostics.",
        memory_mb=512,
        timeout_seconds=10,
        # orders: stock lock counts, NEEDS_REFUND orders and pending payments in diagnostics.
        tables={"ops": Access.READ, "notifications": Access.READ, "orders": Access.READ},
        secrets=("app-keys",),
        routes=(
            Route("GET", "/health", PUBLIC, "Service health: version and dependency reachability"),
            Route("GET", "/v1/admin/diagnostics", frozenset({Role.ADMIN}), "Operational diagnostics for admins"),
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
