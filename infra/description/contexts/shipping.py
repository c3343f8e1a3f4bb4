"""Shipping: parcels go out through Shiprocket and come back as tracking scans.

Two queues keep every provider call off request paths: `shipments` (ship a paid order: create the
Shiprocket order, assign an AWB, book the pickup) and `tracking-events` (scans Shiprocket pushed to
our webhook, re-confirmed with its track API before anything moves)."""

from infra.description.model import Access, Function, Queue, QueueTrigger, Secret, Webhook

# The only Shiprocket API host; Shiprocket has no sandbox of its own, so the local twin
# swaps this variable for its simulator's address (infra/sandboxes/shiprocket).
SHIPROCKET_API = {"SHIPROCKET_BASE_URL": "https://apiv2.shiprocket.in/v1/external"}

SECRETS = (
    Secret(
        name="shiprocket",
        purpose="Shiprocket API user (email/password for /auth/login), the token Shiprocket sends in "
        "x-api-key on tracking webhooks, and the pickup location nickname parcels leave from.",
        fields=("api_email", "api_password", "webhook_api_key", "pickup_location"),
        # Not secret: an address and a nickname. The password and webhook key stay random locally.
        local_values={"api_email": "api-user@bazaar.local", "pickup_location": "Primary"},
    ),
)

SHIPMENTS_WORKER_TIMEOUT = 60
TRACKING_WORKER_TIMEOUT = 60

SHIPMENTS = Queue(
    name="shipments",
    purpose="Paid orders to hand to Shiprocket (create order, assign AWB, book pickup)",
    visibility_timeout_seconds=6 * SHIPMENTS_WORKER_TIMEOUT,
)

QUEUES = (
    SHIPMENTS,
    Queue(
        name="tracking-events",
        purpose="Shiprocket tracking scans received by the webhook, to re-confirm and apply",
        visibility_timeout_seconds=6 * TRACKING_WORKER_TIMEOUT,
    ),
)

FUNCTIONS = (
    Function(
        name="shiprocket-webhook",
        handler="functions.shipping.shiprocket_webhook.handler",
        description="Verifies Shiprocket's x-api-key, queues the scan and answers 200 at once.",
        memory_mb=256,
        timeout_seconds=5,
        secrets=("shiprocket",),
        sends_to=("tracking-events",),
        # Shiprocket's sending addresses, when known (CIDRs, comma-separated; empty: any address).
        environment={"SHIPROCKET_WEBHOOK_SOURCE_IPS": ""},
        # Tracking updates arrive in bursts of a courier's scans, a few per parcel.
        webhooks=(Webhook(path="/webhooks/shiprocket", provider="shiprocket", reserved_concurrency=10),),
    ),
    Function(
        name="tracking-worker",
        handler="functions.shipping.tracking_worker.handler",
        description="Re-confirms each queued scan with Shiprocket's track API and applies it to the AWB's order.",
        memory_mb=256,
        timeout_seconds=TRACKING_WORKER_TIMEOUT,
        environment=SHIPROCKET_API,
        # stock: only named (the order book's constructor); scans move no stock.
        tables={"orders": Access.READ_WRITE, "order-events": Access.WRITE, "stock": Access.READ},
        secrets=("shiprocket",),
        # Each record costs one track call (plus a login at most); 3 fit the timeout with room.
        queue_triggers=(QueueTrigger(queue="tracking-events", batch_size=3),),
    ),
    Function(
        name="shipments-worker",
        handler="functions.shipping.shipments_worker.handler",
        description="Ships one paid order through Shiprocket (find or create, AWB, pickup) and records it on the order.",
        memory_mb=256,
        timeout_seconds=SHIPMENTS_WORKER_TIMEOUT,
        environment={
            **SHIPROCKET_API,
            # Its last receive marks the order SHIPMENT_FAILED before the message goes to the DLQ.
            "SHIPMENTS_MAX_RECEIVE_COUNT": str(SHIPMENTS.max_receive_count),
            # Shiprocket requires an email on every order; customers hear from Bazaar, not from it.
            "SHIPPING_CONTACT_EMAIL": "orders@bazaar.local",
        },
        tables={"orders": Access.READ_WRITE, "order-events": Access.WRITE, "stock": Access.READ},
        secrets=("shiprocket",),
        # Up to five provider calls per parcel: one record per invocation keeps each within the timeout.
        queue_triggers=(QueueTrigger(queue="shipments", batch_size=1),),
    ),
)
