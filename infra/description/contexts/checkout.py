from infra.description.model import Access, FeatureFlag, Function, MetricAlarm, Role, Route, Schedule
from infra.description.contexts.payments import PHONEPE_SETTINGS
from infra.description.settings import SETTINGS, rate_limits

ADMIN = frozenset({Role.ADMIN})
_CLEANUP_TABLES = {"orders": Access.READ_WRITE, "order-events": Access.WRITE, "stock": Access.READ_WRITE,
                   "ops": Access.READ_WRITE}

FLAGS = (
    FeatureFlag(
        name="hold_stock_for_payment_timeout",
        purpose="Hold a checkout's stock for the PhonePe payment's whole life (PHONEPE_PAYMENT_TIMEOUT_SECONDS) "
                "instead of STOCK_LOCK_EXPIRY_MINUTES: a shopper who pays late then never finds the stock "
                "released (and the order refunded), at the price of stock held longer from others. Rolled out "
                "to a share of shoppers to compare expired and refunded orders before everyone gets it.",
        default=False,
        rollout_percent=10,
    ),
)

FUNCTIONS = (
    Function(
        name="checkout-api",
        handler="functions.checkout.api.handler",
        description="Checkout: locks the cart's stock and creates the order awaiting payment, idempotently.",
        memory_mb=512,
        timeout_seconds=15,
        tables={
            "catalog": Access.READ,
            "stock": Access.READ_WRITE,
            "orders": Access.READ_WRITE, "order-events": Access.WRITE,
            "idempotency": Access.READ_WRITE,
            "rate-limits": Access.WRITE,
        },
        # Checkout opens the order's PhonePe payment before it answers (the redirect URL).
        environment={**PHONEPE_SETTINGS, **rate_limits("RATE_LIMIT_CHECKOUT")},
        # The PhonePe generation is a flag (phonepe_api_version); the setting is its fallback.
        reads_flags=True,
        secrets=("phonepe",),
        routes=(
            Route("POST", "/v1/checkout", frozenset({Role.CUSTOMER}),
                  "Lock the cart's stock and create an order awaiting payment (Idempotency-Key required)"),
        ),
    ),
    Function(
        name="checkout-stock-cleanup",
        handler="functions.checkout.stock_cleanup_job.handler",
        description="Releases expired stock locks and expires their unpaid orders.",
        memory_mb=512,
        timeout_seconds=120,
        tables=_CLEANUP_TABLES,
        schedules=(
            Schedule(
                name="stock-cleanup",
                expression=f"rate({SETTINGS['STOCK_CLEANUP_INTERVAL_MINUTES']} minutes)",
                description="Gives expired stock locks back and moves their orders to EXPIRED.",
            ),
        ),
    ),
    Function(
        name="checkout-admin-api",
        handler="functions.checkout.admin_api.handler",
        description="Admin: run the stock cleanup now and see its recent runs and next scheduled time.",
        memory_mb=512,
        timeout_seconds=29,
        tables=_CLEANUP_TABLES,
        routes=(
            Route("POST", "/v1/admin/stock-cleanup", ADMIN, "Run the stock cleanup now"),
            Route("GET", "/v1/admin/stock-cleanup", ADMIN, "Recent stock cleanup runs and the next scheduled one"),
        ),
    ),
)

ALARMS = (
    MetricAlarm(
        name="stock-locks-unreleased",
        description="Stock locks that had expired were still held after two cleanup runs in a row: stock is "
        "held back from sale. Look at the cleanup's runs (GET /v1/admin/stock-cleanup) and its log errors.",
        metric="ExpiredLocksStillHeld",
        statistic="Maximum",
        threshold=0,
        comparison=">",
        period_seconds=int(SETTINGS["STOCK_CLEANUP_INTERVAL_MINUTES"]) * 60,
        # A release that failed once is retried by the next run: still held after two runs is a fault.
        evaluation_periods=2,
        # The cleanup emits this every run (0 when all is well); silence means it is not running.
        treat_missing_as_breaching=True,
    ),
)
