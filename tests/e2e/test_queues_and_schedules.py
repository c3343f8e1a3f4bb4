"""SQS event-source and schedule emulation driving Bazaar's real workers and jobs."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import requests

from bazaar.notifications.adapters.dynamodb import DynamoDbFeeds
from bazaar.notifications.domain import (
    Channel, DeliveryRequest, Notification, NotificationKind, Preferences, plan_deliveries,
)
from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.mailbox import sent_mail
from tests.waiting import a_poll_began


def _pending_delivery(stack, notification_id: str, user_id: str) -> str:
    """A feed entry whose email is pending, as the event consumers write it, and the delivery
    message they queue for it (the notifications worker's input)."""
    notification = Notification(
        notification_id=notification_id, user_id=user_id, kind=NotificationKind.ORDER_PAID, title="Payment received",
        body="We received ₹499.00 for order ord_1.", occurred_at=datetime(2026, 11, 23, 6, 30, tzinfo=UTC),
        facts={"order_id": "ord_1", "amount_paise": 49900},
    )
    feeds = DynamoDbFeeds(stack.client("dynamodb"), stack.names.table_name("notifications"))
    feeds.add_once(notification, plan_deliveries(notification, Preferences(), False, notification.occurred_at))
    return DeliveryRequest(notification=notification, channel=Channel.EMAIL).model_dump_json()


def _email_state(stack, user_id: str) -> str | None:
    [item] = _feed(stack, user_id)
    return item["deliveries"]["M"]["email"]["M"]["state"]["S"]


def _feed(stack, user_id: str) -> list[dict]:
    table = stack.names.table_name("notifications")
    return stack.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}},
    )["Items"]


def _wait_for(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def _drained(stack, queue: str, seconds: float = 30) -> bool:
    """True once the queue holds nothing, visible or in flight: every message sent to it before
    has been taken and its consumer has answered for it."""
    sqs, url = stack.client("sqs"), stack.names.queue_url(queue)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    return bool(_wait_for(lambda: set(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
                                      ["Attributes"].values()) == {"0"}, seconds))


def test_a_queued_delivery_is_emailed_once_even_when_sent_twice(local_stack):
    sqs = local_stack.client("sqs")
    url = local_stack.names.queue_url("notifications")
    email = f"twice-{uuid.uuid4().hex[:8]}@test.bazaar.local"
    user = local_stack.create_account("customer", email, f"{uuid.uuid4().hex}aZ7!", name="Twice Tested")
    delivery = _pending_delivery(local_stack, "ntf_0123456789AB", user)
    sqs.send_message(QueueUrl=url, MessageBody=delivery)
    sqs.send_message(QueueUrl=url, MessageBody=delivery)  # a redelivery

    # Both copies taken and answered for: had the duplicate been sent, it would be there now.
    assert _drained(local_stack, "notifications")
    [mail] = sent_mail(local_stack.aws_endpoint, email)
    assert "Hello Twice Tested" in mail["body"] and "₹499.00" in mail["body"]
    assert _email_state(local_stack, user) == "sent"


def test_a_malformed_delivery_ends_in_the_dlq_and_others_still_arrive(tmp_path):
    with LocalStack(LocalConfig.for_tests(tmp_path, seed_accounts=False)) as stack:
        sqs = stack.client("sqs")
        url = stack.names.queue_url("notifications")
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
        a_poll_began(stack, "notifications")  # the long poll that started earlier has ended
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "bad", "MessageBody": json.dumps({"notification_id": "oops"})},
                # To a user this stack does not have: handled, and recorded as failed for good.
                {"Id": "good", "MessageBody": _pending_delivery(stack, "ntf_GOOD00000001", "usr_dlq")},
            ],
        )
        dlq = stack.names.queue_url("notifications-dlq")
        moved = _wait_for(
            lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []), seconds=60
        )
        assert [json.loads(m["Body"]) for m in moved] == [{"notification_id": "oops"}]
        assert _wait_for(lambda: _email_state(stack, "usr_dlq") == "failed")


def test_schedules_fire_on_their_own_with_a_faster_clock(tmp_path):
    # 300x: the 5-minute heartbeat fires every second.
    with LocalStack(LocalConfig.for_tests(tmp_path, clock_speed=300, seed_accounts=False)) as stack:
        schedules = requests.get(f"{stack.url}/_local/schedules", timeout=10).json()
        assert schedules["clock_speed"] == 300
        assert {s["name"] for s in schedules["schedules"]} == {s.name for _, s in SERVICE.schedules}

        def beats():
            return stack.client("dynamodb").query(
                TableName=stack.names.table_name("ops"),
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "JOB#scheduler-heartbeat"}},
            )["Items"]

        assert len(_wait_for(lambda: len(beats()) >= 2 and beats(), seconds=30)) >= 2
        heartbeat = next(s for s in requests.get(f"{stack.url}/_local/schedules", timeout=10).json()["schedules"]
                         if s["name"] == "heartbeat")
        runs = heartbeat["last_runs"]
        assert runs and all(run["ok"] for run in runs)


def test_firing_an_unknown_schedule_is_404(api):
    response = requests.post(f"{api}/_local/schedules/nope/run", timeout=10)
    assert response.status_code == 404
