"""Payouts: sellers and scouts are paid what the settlement ledger says they have earned, through
RazorpayX (docs/payouts.md). Every call to RazorpayX leaves from one fixed address the merchant
allowlists on the RazorpayX dashboard: the functions that make them declare `fixed_egress`.

Order events come in through `payout-order-events` (Delivered schedules an order's settlement
for when its return window has passed; a refund after that posts its reversal); payouts go out
through `payouts` (one message per payout, retried with the payout's idempotency key);
RazorpayX's word comes back through the webhook (`payout-webhooks`) and the status poll."""

from infra.description.settings import rate_limits
from infra.description.model import (
    Access, Function, Index, Key, MetricAlarm, Queue, QueueTrigger, Role, Route, Schedule, Secret, Table, Webhook,
)

# The only RazorpayX API host (RazorpayX has no separate test host: test keys select test mode).
# The local twin swaps it for its RazorpayX sandbox's address (infra/sandboxes/razorpayx).
RAZORPAYX_API = {"RAZORPAYX_BASE_URL": "https://api.razorpay.com/v1"}

# The order events payouts react to (a unit test keeps this equal to what the use case follows).
FOLLOWED_EVENTS = ("Delivered", "PartiallyRefunded", "Refunded")

SELLER = frozenset({Role.SELLER})
SCOUT = frozenset({Role.SCOUT})
ADMIN = frozenset({Role.ADMIN})

SECRETS = (
    Secret(
        name="razorpayx",
        purpose="RazorpayX API key (id and secret, HTTP basic auth), the webhook secret that signs "
        "X-Razorpay-Signature, and the business account number payouts are debited from.",
        fields=("key_id", "key_secret", "webhook_secret", "account_number"),
        # Identifiers, not secrets: fixed locally so logs and the sandbox read the same.
        local_values={"key_id": "rzp_test_bazaarlocal", "account_number": "2323230041626905"},
    ),
)

TABLES = (
    Table(
        name="ledger",
        purpose="The settlement ledger: each order's postings (append-only), its settlement and bounties.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(
            Index("by-payee", Key("payee"), Key("posted_key")),
            # Sparse: postings no payout holds, oldest first: exactly what the next payout takes.
            Index("by-unclaimed", Key("unclaimed_by"), Key("posted_key")),
            # Sparse: settlements waiting for their return window.
            Index("by-due", Key("due_state"), Key("due_at")),
        ),
    ),
    Table(
        name="payouts",
        purpose="Payouts, payees' payout accounts (masked) and holds, commission rules.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(
            Index("by-payee", Key("payout_payee"), Key("created_at")),
            Index("by-status", Key("status"), Key("created_at")),
            # Sparse: open payouts (pending, processing), for the status poll.
            Index("by-open", Key("open_state"), Key("updated_at")),
        ),
    ),
)

PROCESSOR_TIMEOUT = 30
WORKER_TIMEOUT = 30

PAYOUTS = Queue(
    name="payouts",
    purpose="Payouts to send to RazorpayX (one message per payout; retried with its idempotency key)",
    visibility_timeout_seconds=6 * PROCESSOR_TIMEOUT,
    # RazorpayX outages: 10 receives, 3 minutes apart, before the DLQ (the status poll re-queues
    # a payout left unsent after that, with the same key).
    max_receive_count=10,
)

QUEUES = (
    PAYOUTS,
    Queue(
        name="payout-order-events",
        purpose="Order events that make earnings payable (Delivered) or take them back (refunds)",
        visibility_timeout_seconds=6 * WORKER_TIMEOUT,
    ),
    Queue(
        name="payout-webhooks",
        purpose="Verified RazorpayX payout webhooks for the worker to apply",
        visibility_timeout_seconds=6 * WORKER_TIMEOUT,
    ),
)

# Moving money: the ledger, the payouts and their events; the order book only to read orders
# (stock: named by the order book's constructor).
MONEY_TABLES = {"ledger": Access.READ_WRITE, "payouts": Access.READ_WRITE, "order-events": Access.WRITE,
                "orders": Access.READ, "stock": Access.READ}

FUNCTIONS = (
    Function(
        name="payouts-order-events",
        handler="functions.payouts.order_events_worker.handler",
        description="Schedules a delivered order's settlement for when its return window has passed; "
        "posts a later refund's reversal.",
        memory_mb=256,
        timeout_seconds=WORKER_TIMEOUT,
        tables=MONEY_TABLES,
        queue_triggers=(QueueTrigger(queue="payout-order-events", batch_size=10),),
    ),
    Function(
        name="payouts-settlement",
        handler="functions.payouts.settlement_job.handler",
        description="Posts the ledger entries of every order whose return window has passed (and scout bounties).",
        memory_mb=256,
        timeout_seconds=120,
        tables={**MONEY_TABLES, "identity": Access.READ},
        schedules=(Schedule(name="payouts-settlement", expression="rate(1 hour)",
                            description="Settles orders whose return window has passed."),),
    ),
    Function(
        name="payouts-run",
        handler="functions.payouts.payout_run_job.handler",
        description="Makes a payout for every seller whose available balance reaches the minimum.",
        memory_mb=256,
        timeout_seconds=120,
        tables=MONEY_TABLES,
        sends_to=("payouts",),
        schedules=(Schedule(name="payouts-daily", expression="cron(30 4 * * ? *)",
                            description="Daily payout run, 10:00 IST (banking hours for IMPS and NEFT)."),),
    ),
    Function(
        name="payouts-processor",
        handler="functions.payouts.processor.handler",
        description="Sends one payout to RazorpayX with its attempt's idempotency key and records the answer.",
        memory_mb=256,
        timeout_seconds=PROCESSOR_TIMEOUT,
        environment=RAZORPAYX_API,
        fixed_egress=True,
        tables=MONEY_TABLES,
        secrets=("razorpayx",),
        # One RazorpayX call per record; RazorpayX asks for at most 5-10 calls a second.
        queue_triggers=(QueueTrigger(queue="payouts", batch_size=1),),
    ),
    Function(
        name="payouts-razorpayx-webhook",
        handler="functions.payouts.razorpayx_webhook.handler",
        description="Verifies X-Razorpay-Signature over the raw body, queues the payout event, answers 200 at once.",
        memory_mb=256,
        timeout_seconds=5,
        secrets=("razorpayx",),
        sends_to=("payout-webhooks",),
        # RazorpayX's webhook addresses, when known (CIDRs, comma-separated; empty: any address).
        environment={"RAZORPAYX_WEBHOOK_SOURCE_IPS": ""},
        # One call per payout state change; payouts leave in batches Bazaar itself paces.
        webhooks=(Webhook(path="/webhooks/razorpayx", provider="razorpayx", reserved_concurrency=5),),
    ),
    Function(
        name="payouts-webhook-worker",
        handler="functions.payouts.webhook_worker.handler",
        description="Applies RazorpayX's payout webhooks: forward only; failure and reversal give postings back.",
        memory_mb=256,
        timeout_seconds=WORKER_TIMEOUT,
        tables=MONEY_TABLES,
        queue_triggers=(QueueTrigger(queue="payout-webhooks", batch_size=10),),
    ),
    Function(
        name="payouts-status",
        handler="functions.payouts.status_job.handler",
        description="Asks RazorpayX about open payouts not heard of for a while; re-queues payouts never sent.",
        memory_mb=256,
        timeout_seconds=60,
        environment=RAZORPAYX_API,
        fixed_egress=True,
        tables=MONEY_TABLES,
        secrets=("razorpayx",),
        sends_to=("payouts",),
        schedules=(Schedule(name="payouts-status", expression="rate(10 minutes)",
                            description="Follows payouts whose webhook may be lost."),),
    ),
    Function(
        name="payouts-api",
        handler="functions.payouts.api.handler",
        description="Sellers' and scouts' payout accounts, earnings, statements and payouts; scouts' withdrawals.",
        memory_mb=512,
        timeout_seconds=15,
        environment={**RAZORPAYX_API, **rate_limits("RATE_LIMIT_SCOUT_PAYOUT")},
        fixed_egress=True,
        tables={**MONEY_TABLES, "identity": Access.READ, "idempotency": Access.READ_WRITE,
                "rate-limits": Access.WRITE},
        secrets=("app-keys", "razorpayx"),
        sends_to=("payouts",),
        routes=(
            Route("PUT", "/v1/seller/payout-account", SELLER,
                  "Register where your payouts go (bank account + IFSC, or UPI address)"),
            Route("GET", "/v1/seller/payout-account", SELLER, "Your payout account (masked)"),
            Route("GET", "/v1/seller/earnings", SELLER, "Your balance and ledger postings, newest first"),
            Route("GET", "/v1/seller/payouts", SELLER, "Your payouts, newest first"),
            Route("GET", "/v1/seller/statement", SELLER,
                  "Your statement for a period: gross, commission, fees, TCS, TDS, net (JSON or CSV)"),
            Route("PUT", "/v1/scouts/me/payout-account", SCOUT, "Register where your earnings go"),
            Route("GET", "/v1/scouts/me/payout-account", SCOUT, "Your payout account (masked)"),
            Route("GET", "/v1/scouts/me/earnings", SCOUT, "Your balance and bounties, newest first"),
            Route("GET", "/v1/scouts/me/payouts", SCOUT, "Your withdrawals, newest first"),
            Route("POST", "/v1/scouts/me/payouts", SCOUT,
                  "Withdraw your available earnings (Idempotency-Key; at least the minimum payout)"),
        ),
    ),
    Function(
        name="payouts-admin-api",
        handler="functions.payouts.admin_api.handler",
        description="Admin payouts: list, pay a payee now, retry a failed one, cancel a queued one, hold and "
        "release a payee, commission rules (all audited).",
        memory_mb=512,
        timeout_seconds=15,
        environment=RAZORPAYX_API,
        fixed_egress=True,
        tables={**MONEY_TABLES, "audit": Access.READ_WRITE},
        secrets=("app-keys", "razorpayx"),
        sends_to=("payouts",),
        routes=(
            Route("GET", "/v1/admin/payouts", ADMIN, "Payouts, newest first, by status"),
            Route("GET", "/v1/admin/payouts/{payout_id}", ADMIN, "One payout with RazorpayX's last answer"),
            Route("POST", "/v1/admin/payouts/{payout_id}/retry", ADMIN,
                  "Try a failed payout again as a new attempt (audited, with a reason)"),
            Route("POST", "/v1/admin/payouts/{payout_id}/cancel", ADMIN,
                  "Cancel a payout RazorpayX has queued (audited, with a reason)"),
            Route("POST", "/v1/admin/payees/{user_id}/payouts", ADMIN,
                  "Pay a seller or scout their available balance now"),
            Route("GET", "/v1/admin/payees/{user_id}/balance", ADMIN,
                  "A payee's balance from the ledger: earned, paid out, in flight, available"),
            Route("POST", "/v1/admin/payees/{user_id}/hold", ADMIN, "Hold a payee's payouts (audited, with a reason)"),
            Route("POST", "/v1/admin/payees/{user_id}/release", ADMIN,
                  "Release a payee's payouts and send those that waited (audited, with a reason)"),
            Route("GET", "/v1/admin/commission-rules", ADMIN, "Commission rules by seller and category"),
            Route("PUT", "/v1/admin/commission-rules", ADMIN,
                  "Set the commission for a seller, a category or both (audited)"),
        ),
    ),
)

ALARMS = (
    MetricAlarm(
        name="payouts-failed",
        description="Payouts failed at RazorpayX in the last hour: their postings are back in the balance; "
        "look at the failure reasons (GET /v1/admin/payouts?status=failed).",
        metric="PayoutFailed",
        threshold=1,
        period_seconds=3600,
    ),
)
