"""Payments: PhonePe (v2 Standard Checkout by default, v1 by setting), its webhook, and the
worker that re-confirms every webhook with PhonePe's status API."""

from infra.description.model import Access, FeatureFlag, Function, MetricAlarm, Queue, QueueTrigger, Schedule, Secret, Webhook

# Which PhonePe and where. The cloud twin starts on PhonePe's UAT host (no real money) until an
# operator sets production hosts (PG: https://api.phonepe.com/apis/pg, OAuth:
# https://api.phonepe.com/apis/identity-manager; v1: https://api.phonepe.com/apis/hermes).
# The local twin replaces the two URLs with its PhonePe sandbox's address (infra/local/stack.py
# overrides any function setting a running sandbox provides), so no code knows it is local.
PHONEPE_SETTINGS = {
    "PHONEPE_API_VERSION": "v2",
    "PHONEPE_BASE_URL": "https://api-preprod.phonepe.com/apis/pg-sandbox",
    "PHONEPE_OAUTH_BASE_URL": "https://api-preprod.phonepe.com/apis/pg-sandbox",
    "PHONEPE_TIMEOUT_SECONDS": "5",
    # The shop page PhonePe sends the shopper back to (<url>/<order_id>), and our webhook's
    # address for v1 callbacks (the cloud twin's is the webhook function's URL: set it after the
    # first deploy; the local twin's sandbox supplies its own).
    "PAYMENT_RETURN_URL": "https://shop.bazaar.example/orders",
    "PHONEPE_CALLBACK_URL": "https://api.bazaar.example/webhooks/phonepe",
    # PhonePe's mandated polling of a pending payment (docs/providers/phonepe.md, 'Status polling'): first
    # check 20 s after the start; the payment's timeout is PhonePe's default order expiry (20 minutes).
    "PHONEPE_FIRST_STATUS_CHECK_SECONDS": "20",
    "PHONEPE_PAYMENT_TIMEOUT_SECONDS": "1200",
}

FLAGS = (
    FeatureFlag(
        name="phonepe_api_version",
        purpose="Which PhonePe API generation new payments and status checks use (v2 Standard Checkout or v1 "
                "X-VERIFY): switch back to v1 without a deploy if v2 misbehaves. One switch for the whole "
                "service, never per user: a payment's status is asked of the generation that opened it.",
        default=PHONEPE_SETTINGS["PHONEPE_API_VERSION"],
        per_user=False,
    ),
)

# Settling a payment moves the order and its stock, and records the payment next to the order.
SETTLING_TABLES = {"orders": Access.READ_WRITE, "order-events": Access.WRITE, "stock": Access.READ_WRITE}

SECRETS = (
    Secret(
        name="phonepe",
        purpose="PhonePe merchant credentials: v2 OAuth client, v1 salt key, webhook username/password.",
        fields=("client_id", "client_secret", "client_version", "merchant_id", "salt_key", "salt_index",
                "webhook_username", "webhook_password"),
        # Identifiers, not secrets: fixed locally so logs and the sandbox read the same; the rest
        # is random per run and the local PhonePe sandbox is handed the same values.
        local_values={"client_id": "BAZAAR_LOCAL_CLIENT", "client_version": "1", "merchant_id": "BAZAARLOCAL",
                      "salt_index": "1", "webhook_username": "bazaar_local"},
    ),
)

PAYMENT_EVENTS_WORKER_TIMEOUT_SECONDS = 30

QUEUES = (
    Queue(
        name="payment-events",
        purpose="Verified PhonePe webhooks waiting to be re-confirmed with the status API",
        visibility_timeout_seconds=6 * PAYMENT_EVENTS_WORKER_TIMEOUT_SECONDS,
        # A UPI payment can stay PENDING for 15-20 minutes; a claim PhonePe cannot confirm yet
        # comes back every 3 minutes, so 10 receives cover that before the DLQ.
        max_receive_count=10,
    ),
)

FUNCTIONS = (
    Function(
        name="payments-phonepe-webhook",
        handler="functions.payments.phonepe_webhook.handler",
        description="PhonePe webhook: verify the caller, queue the event, answer 200 fast.",
        memory_mb=256,
        timeout_seconds=5,
        secrets=("phonepe",),
        sends_to=("payment-events",),
        # The addresses PhonePe calls from, when it publishes them (CIDRs, comma-separated; a
        # stage sets them); empty: any address, and the signature decides.
        environment={"PHONEPE_WEBHOOK_SOURCE_IPS": ""},
        # PhonePe calls back once per payment state change: a sale's peak, not more.
        webhooks=(Webhook(path="/webhooks/phonepe", provider="phonepe", reserved_concurrency=20),),
    ),
    Function(
        name="payments-events-worker",
        handler="functions.orders.payment_events_worker.handler",
        description="Re-confirms queued PhonePe webhooks with the status API (amount and id checked) and "
        "applies the verdict to the order once (its event tells the rest of Bazaar).",
        memory_mb=256,
        timeout_seconds=PAYMENT_EVENTS_WORKER_TIMEOUT_SECONDS,
        environment=PHONEPE_SETTINGS,
        # The PhonePe generation is a flag (phonepe_api_version); the setting is its fallback.
        reads_flags=True,
        tables=SETTLING_TABLES,
        secrets=("phonepe",),
        queue_triggers=(QueueTrigger(queue="payment-events", batch_size=10),),
    ),
    Function(
        name="payments-reconciliation",
        handler="functions.orders.payment_reconciliation_job.handler",
        description="Asks PhonePe about every pending payment whose mandated status check is due and "
        "settles it (paid, failed, or expired after its timeout); catches webhooks that never came.",
        memory_mb=256,
        timeout_seconds=60,
        environment=PHONEPE_SETTINGS,
        # The PhonePe generation is a flag (phonepe_api_version); the setting is its fallback.
        reads_flags=True,
        tables=SETTLING_TABLES,
        secrets=("phonepe",),
        schedules=(
            Schedule(
                name="payment-reconciliation",
                # EventBridge's finest rate: each payment's own next_check_at carries PhonePe's
                # denser early schedule; a run takes every check that has come due.
                expression="rate(1 minute)",
                description="Polls PhonePe for pending payments whose next mandated check is due.",
            ),
        ),
    ),
)

ALARMS = (
    MetricAlarm(
        name="payment-success-rate-low",
        description="Fewer than the threshold's percentage of payments settled in the last hour succeeded "
        "(PaymentSucceeded against PaymentFailed, expired ones included): PhonePe trouble, or a bug in "
        "the payment page. Check PhonePe's status and the failed payments' codes in the worker's log.",
        metric="PaymentSucceeded",
        more_metrics=("PaymentFailed",),
        # No payment settled in the hour: no value (0/0), which is not an alarm.
        expression="100 * FILL(m0, 0) / (FILL(m0, 0) + FILL(m1, 0))",
        statistic="Sum",
        threshold=70,
        comparison="<",
        period_seconds=3600,
    ),
    MetricAlarm(
        name="payment-event-mismatch",
        description="A PhonePe webhook's amount or order id differs from PhonePe's own status: "
        "a forged webhook with leaked credentials, or a bug. Nothing was acted on; investigate.",
        metric="PaymentEventMismatch",
        threshold=1,
        period_seconds=300,
    ),
    MetricAlarm(
        name="payment-amount-mismatch",
        description="PhonePe reports a payment whose amount or order id is not our order's: the order "
        "was not fulfilled and went to NEEDS_REFUND (see admin diagnostics).",
        metric="PaymentAmountMismatch",
        threshold=1,
        period_seconds=300,
    ),
    MetricAlarm(
        name="phonepe-webhook-rejections",
        description="PhonePe webhooks are being refused (forged, for another merchant, malformed or too "
        "large): an attack, or rotated webhook credentials that Bazaar's secret does not match.",
        metric="WebhookRejected",
        threshold=5,
        period_seconds=300,
    ),
)
