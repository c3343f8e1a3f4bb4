from infra.description.model import (
    PUBLIC, Access, Function, Key, MetricAlarm, Queue, QueueTrigger, Role, Route, Schedule, Table,
)
from infra.description.contexts.payments import PHONEPE_SETTINGS
from infra.description.contexts.payouts import RAZORPAYX_API
from infra.description.contexts.shipping import SHIPROCKET_API
from infra.description.settings import SETTINGS

# The providers /health reports on: the hosts the functions that call them are given (a stage's
# hosts replace these, and the local twin's sandboxes theirs).
PROVIDER_HOSTS = {"PHONEPE_BASE_URL": PHONEPE_SETTINGS["PHONEPE_BASE_URL"], **SHIPROCKET_API, **RAZORPAYX_API}

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
        purpose="Idempotency-Key records for short-lived request deduplication: Powertools' (refunds) and "
                "checkout's own, claimed in the order's transaction.",
        partition_key=Key("id"),
        ttl_attribute="expiration",
    ),
)

# The order events the business figures come from (bazaar.ops.business_metrics; a unit test
# keeps the two lists equal).
MEASURED_EVENTS = ("Delivered", "OrderExpired", "OrderPaid", "OrderPlaced", "PartiallyRefunded", "PaymentFailed",
                   "Refunded")

HEALTH_PROBE_INTERVAL_MINUTES = 5

QUEUES = (
    Queue(
        name="order-metrics",
        purpose="Order events relayed from the outbox that the business figures count",
        visibility_timeout_seconds=180,
        max_receive_count=5,
    ),
)

FUNCTIONS = (
    Function(
        name="ops-api",
        handler="functions.ops.api.handler",
        description="Health, the published OpenAPI document and admin diagnostics.",
        memory_mb=512,
        timeout_seconds=10,
        # orders: stock lock counts, NEEDS_REFUND orders, pending payments and the last 24 hours'
        # orders by status in diagnostics; refunds and payouts: those not settled yet.
        tables={"ops": Access.READ, "notifications": Access.READ, "orders": Access.READ, "refunds": Access.READ,
                "payouts": Access.READ},
        secrets=("app-keys",),
        environment=PROVIDER_HOSTS,
        # RazorpayX is probed from the address payouts leave from: its health is also the NAT's.
        fixed_egress=True,
        # Diagnostics lists every flag, its default and its value for the calling admin.
        reads_flags=True,
        routes=(
            Route("GET", "/health", PUBLIC, "Service health: version and dependency reachability"),
            Route("GET", "/v1/openapi.json", PUBLIC, "This API's OpenAPI document (generated at build time)"),
            Route("GET", "/v1/docs", PUBLIC, "The OpenAPI document in Swagger UI"),
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
    Function(
        name="ops-health-probe",
        handler="functions.ops.health_probe_job.handler",
        description="Runs the health check GET /health answers with and reports it as a metric.",
        memory_mb=256,
        timeout_seconds=30,
        # What the health check reads: the same dependencies as ops-api's GET /health.
        tables={"ops": Access.READ},
        secrets=("app-keys",),
        schedules=(
            Schedule(
                name="health-probe",
                expression=f"rate({HEALTH_PROBE_INTERVAL_MINUTES} minutes)",
                description="Checks health from inside; the health-failing alarm watches what it reports.",
            ),
        ),
    ),
    Function(
        name="ops-order-metrics",
        handler="functions.ops.order_metrics_worker.handler",
        description="Counts orders placed, paid, delivered and refunded, and revenue in paise, once per event.",
        memory_mb=256,
        timeout_seconds=30,
        # ops: the ids of the events already counted.
        tables={"ops": Access.READ_WRITE},
        queue_triggers=(QueueTrigger(queue="order-metrics", batch_size=10),),
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
    MetricAlarm(
        name="health-failing",
        description="The health probe found a dependency of GET /health down (DynamoDB or Secrets Manager), "
        "or reported nothing for 10 minutes. Call GET /health and read the probe's log.",
        metric="HealthCheckPassed",
        statistic="Minimum",
        threshold=1,
        comparison="<",
        # Two probes per period: one late firing of the schedule is not an outage.
        period_seconds=2 * HEALTH_PROBE_INTERVAL_MINUTES * 60,
        # A probe that does not run (or cannot emit) is as bad as one that fails.
        treat_missing_as_breaching=True,
    ),
    MetricAlarm(
        name="api-5xx-rate",
        description="More than the threshold's percentage of API requests answered 5xx in two 5-minute periods "
        "running. Look at the API's 5xx by route in its access log, then the failing function's errors.",
        metric="5XXError",
        more_metrics=("Count",),
        expression="100 * FILL(m0, 0) / m1",
        statistic="Sum",
        threshold=5,
        comparison=">",
        period_seconds=300,
        evaluation_periods=2,
        api=True,
    ),
    MetricAlarm(
        name="api-latency-p99",
        description="The API's p99 latency was over 500 ms for three 5-minute periods running. Look at the "
        "slowest functions' Duration and X-Ray traces (DynamoDB throttles, a slow provider).",
        metric="Latency",
        statistic="p99",
        threshold=500,
        comparison=">",
        period_seconds=300,
        evaluation_periods=3,
        api=True,
    ),
)
