from infra.description.model import Access, Function, Index, Key, Queue, QueueTrigger, Table

TABLES = (
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

FUNCTIONS = (
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
