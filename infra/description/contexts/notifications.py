from infra.description.model import EVERY_ROLE, Access, Function, Index, Key, Queue, QueueTrigger, Route, Table

# The order events that are news to a shopper (bazaar.notifications.order_updates says what each
# one tells them; a unit test keeps the two lists equal).
NOTIFIED_EVENTS = ("Delivered", "OrderExpired", "OrderPaid", "PartiallyRefunded", "PaymentFailed", "Refunded",
                   "ShipmentCreated", "Shipped")
# The payout events that are news to the payee (bazaar.notifications.payout_updates).
NOTIFIED_PAYOUT_EVENTS = ("BountyEarned", "PayoutFailed", "PayoutProcessed", "PayoutRequested", "PayoutReversed")

# The refund request events that are news to the shopper (bazaar.notifications.refund_updates).
NOTIFIED_REFUND_EVENTS = ("RefundApproved", "RefundCompleted", "RefundExpired", "RefundFailed", "RefundRejected",
                          "RefundRequestOpened")

# Who Bazaar's emails come from: an SES identity (the cloud twin creates and grants it; the local
# twin verifies it in moto). Change it to your own verified domain's address before going live.
EMAIL_SENDER = "Bazaar <no-reply@bazaar.example>"
# SMS are off unless this is "true" (and then only to users who chose them and gave a number).
SMS_ENABLED = "false"

TABLES = (
    Table(
        name="notifications",
        purpose="Each user's notification feed, written once per notification id.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(
            Index("by-notification-id", Key("notification_id")),
            # Sparse: entries carry `unread_for` only while unread, so the unread count reads
            # exactly those.
            Index("by-unread", Key("unread_for"), Key("occurred_at")),
        ),
        ttl_attribute="expires_at",
    ),
)

QUEUES = (
    Queue(
        name="notifications",
        purpose="Deliveries to send: one message per notification and channel (email, SMS) still pending",
        visibility_timeout_seconds=180,
        max_receive_count=5,
    ),
    Queue(
        name="payout-notifications",
        purpose="Payout and bounty events relayed from the outbox that the payee is told about",
        visibility_timeout_seconds=180,
        max_receive_count=5,
    ),
    Queue(
        name="refund-notifications",
        purpose="Refund request events relayed from the outbox that the shopper is told about",
        visibility_timeout_seconds=180,
        max_receive_count=5,
    ),
    Queue(
        name="order-notifications",
        purpose="Order events relayed from the outbox that the shopper is told about",
        visibility_timeout_seconds=180,
        max_receive_count=5,
    ),
)

FUNCTIONS = (
    Function(
        name="notifications-worker",
        handler="functions.notifications.notifications_worker.handler",
        description="Sends queued deliveries (email through SES, SMS through SNS), once per notification and channel.",
        memory_mb=256,
        timeout_seconds=30,
        environment={"EMAIL_SENDER": EMAIL_SENDER, "SMS_ENABLED": SMS_ENABLED},
        tables={"notifications": Access.READ_WRITE, "identity": Access.READ},
        queue_triggers=(QueueTrigger(queue="notifications", batch_size=10),),
        sends_email=True,
        sends_sms=True,
    ),
    Function(
        name="notifications-order-events",
        handler="functions.notifications.order_events_worker.handler",
        description="Turns order events into the shopper's feed entries and queued deliveries, once per event.",
        memory_mb=256,
        timeout_seconds=30,
        environment={"SMS_ENABLED": SMS_ENABLED},
        tables={"notifications": Access.READ_WRITE},
        sends_to=("notifications",),
        queue_triggers=(QueueTrigger(queue="order-notifications", batch_size=10),),
    ),
    Function(
        name="notifications-payout-events",
        handler="functions.notifications.payout_events_worker.handler",
        description="Turns payout and bounty events into the payee's feed entries and queued deliveries, once per event.",
        memory_mb=256,
        timeout_seconds=30,
        environment={"SMS_ENABLED": SMS_ENABLED},
        tables={"notifications": Access.READ_WRITE},
        sends_to=("notifications",),
        queue_triggers=(QueueTrigger(queue="payout-notifications", batch_size=10),),
    ),
    Function(
        name="notifications-refund-events",
        handler="functions.notifications.refund_events_worker.handler",
        description="Turns refund request events into the shopper's feed entries and queued deliveries, once per event.",
        memory_mb=256,
        timeout_seconds=30,
        environment={"SMS_ENABLED": SMS_ENABLED},
        tables={"notifications": Access.READ_WRITE},
        sends_to=("notifications",),
        queue_triggers=(QueueTrigger(queue="refund-notifications", batch_size=10),),
    ),
    Function(
        name="notifications-api",
        handler="functions.notifications.api.handler",
        description="The caller's notification feed (list, mark read, mark all read) and notification preferences.",
        memory_mb=512,
        timeout_seconds=10,
        environment={"SMS_ENABLED": SMS_ENABLED},
        tables={"notifications": Access.READ_WRITE},
        secrets=("app-keys",),
        routes=(
            Route("GET", "/v1/me/notifications", EVERY_ROLE, "Your notifications, newest first, with the unread count"),
            Route("POST", "/v1/me/notifications/{notification_id}/read", EVERY_ROLE,
                  "Mark one of your notifications read"),
            Route("POST", "/v1/me/notifications/read-all", EVERY_ROLE, "Mark all your notifications read"),
            Route("GET", "/v1/me/notification-preferences", EVERY_ROLE,
                  "Which notifications you get by email and SMS"),
            Route("PUT", "/v1/me/notification-preferences", EVERY_ROLE,
                  "Choose which notifications you get by email and SMS"),
        ),
    ),
)
