"""The shopper's notification feed over HTTP, fed by order events through the real consumer:
an event on the consumer's queue becomes one feed entry however often it comes, the feed reads
newest first with an unread count and signed cursors, and only its owner can read or mark it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from bazaar.money import Paise
from bazaar.orders.domain import HistoryEntry, Order, OrderLine, OrderStatus, ShippingAddress
from tests.conftest import bearer, get
from tests.shop import new_account_token
from tests.waiting import queues_drained, until

S = OrderStatus


def _order_event(customer_id: str, n: int, to: OrderStatus = S.PAID):
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC) + timedelta(minutes=n)
    order = Order(
        order_id=f"ord_01JDFEED{n:018d}", customer_id=customer_id, status=S.PAYMENT_PENDING,
        lines=(OrderLine("prd_1", "var_1", "SKU-1", "Phone", Paise(149900), 1, "usr_seller"),),
        shipping_address=ShippingAddress("A", "9999999999", "1 Road", "Pune", "MH", "411001"),
        created_at=at, updated_at=at, lock_expires_at=at,
        history=(HistoryEntry(at, None, S.PAYMENT_PENDING, "checked out"),),
    )
    return order.transition(to, at, "payment confirmed", actor="provider:phonepe").event


def _send(stack, *events) -> None:
    url = stack.names.queue_url("order-notifications")
    for event in events:
        stack.client("sqs").send_message(QueueUrl=url, MessageBody=event.to_json())


def _feed(api, token, **params) -> dict:
    response = get(f"{api}/v1/me/notifications", headers=bearer(token), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_order_event_becomes_one_feed_entry_even_when_delivered_twice(local_stack, api):
    token, customer_id = new_account_token(local_stack, "customer")
    paid = _order_event(customer_id, 1)
    _send(local_stack, paid, paid)  # the second is a redelivery of the same event
    _send(local_stack, _order_event(customer_id, 2, S.PAYMENT_FAILED))

    until(lambda: len(_feed(api, token)["items"]) >= 2)
    until(lambda: queues_drained(local_stack, "order-notifications"))  # every copy was handled
    feed = _feed(api, token)

    kinds = [item["kind"] for item in feed["items"]]
    assert kinds == ["payment_failed", "order_paid"]  # newest first, the duplicate added nothing
    assert feed["unread_count"] == 2
    assert "₹1499.00" in feed["items"][1]["body"] and feed["items"][1]["read"] is False


def test_the_feed_pages_with_signed_cursors_and_marks_entries_read(local_stack, api):
    token, customer_id = new_account_token(local_stack, "customer")
    _send(local_stack, *(_order_event(customer_id, n) for n in range(10, 15)))
    until(lambda: len(_feed(api, token, limit=100)["items"]) == 5)

    first = _feed(api, token, limit=2)
    second = _feed(api, token, limit=2, cursor=first["next_cursor"])
    third = _feed(api, token, limit=2, cursor=second["next_cursor"])
    ids = [i["notification_id"] for page in (first, second, third) for i in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    occurred = [i["occurred_at"] for page in (first, second, third) for i in page["items"]]
    assert occurred == sorted(occurred, reverse=True)

    tampered = get(f"{api}/v1/me/notifications", headers=bearer(token), params={"cursor": first["next_cursor"][:-2] + "xx"})
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "VALIDATION_FAILED"

    read = requests.post(f"{api}/v1/me/notifications/{ids[0]}/read", headers=bearer(token), timeout=30)
    again = requests.post(f"{api}/v1/me/notifications/{ids[0]}/read", headers=bearer(token), timeout=30)
    assert read.status_code == 200 and read.json()["read"] is True
    assert again.json()["read_at"] == read.json()["read_at"]  # reading twice keeps the first time
    assert _feed(api, token)["unread_count"] == 4


def test_somebody_elses_notification_is_not_found(local_stack, api):
    owner_token, owner_id = new_account_token(local_stack, "customer")
    other_token, _ = new_account_token(local_stack, "customer")
    _send(local_stack, _order_event(owner_id, 20))
    [entry] = until(lambda: _feed(api, owner_token)["items"])

    foreign = requests.post(f"{api}/v1/me/notifications/{entry['notification_id']}/read",
                            headers=bearer(other_token), timeout=30)
    unknown = requests.post(f"{api}/v1/me/notifications/ntf_NOSUCHNOTIFICATION0/read",
                            headers=bearer(other_token), timeout=30)

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == "NOT_FOUND"
    assert _feed(api, other_token)["items"] == [] and _feed(api, owner_token)["unread_count"] == 1


def test_a_payload_that_is_not_an_order_event_ends_in_the_dlq_and_others_still_arrive(local_stack, api):
    token, customer_id = new_account_token(local_stack, "customer")
    sqs = local_stack.client("sqs")
    queue, dlq = (local_stack.names.queue_url(q) for q in ("order-notifications", "order-notifications-dlq"))
    visibility = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])["Attributes"]
    # Fail fast: the poison message comes back after 1 s instead of the described 180 s.
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "1"})
    try:
        # Once an event sent after the change is handled, the consumer's next receive (which the
        # poison message gets) began after it too.
        _send(local_stack, _order_event(customer_id, 30))
        until(lambda: len(_feed(api, token)["items"]) == 1)
        sqs.send_message(QueueUrl=queue, MessageBody='{"poison": true}')
        _send(local_stack, _order_event(customer_id, 31))

        assert until(lambda: len(_feed(api, token)["items"]) == 2)
        moved = until(lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []), seconds=60)
        assert [m["Body"] for m in moved] == ['{"poison": true}']
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes=visibility)
