"""Notifications reaching people, over HTTP and the local stack's real queues: a paid order puts
an entry in the shopper's feed AND an email in moto's SES (to the shopper, in their name, the
amount in rupees); preferences read and written through the API (unknown kinds, channels and
numbers refused in the error envelope); an opted-out non-transactional kind still reaches the
feed but sends no email, while a transactional one ignores the opt-out; a redelivered event sends
no second email; read-all marks the whole feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import requests

from bazaar.money import Paise
from bazaar.orders.domain import HistoryEntry, Order, OrderLine, OrderStatus, ShippingAddress
from tests.conftest import bearer, get
from tests.mailbox import sent_mail
from tests.paid_orders import PaidOrders
from tests.shop import Shopper
from tests.waiting import queues_drained, until

S = OrderStatus
PREFERENCES = "/v1/me/notification-preferences"


def _feed(api, token) -> dict:
    response = get(f"{api}/v1/me/notifications", headers=bearer(token), params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()


def _order_event(customer_id: str, to: OrderStatus, n: int = 1):
    """An order event as the outbox relays it (the consumer takes any event of the routed types)."""
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC) + timedelta(minutes=n)
    order = Order(
        order_id=f"ord_01JDMAIL{uuid.uuid4().hex[:18].upper()}", customer_id=customer_id, status=S.PAYMENT_PENDING,
        lines=(OrderLine("prd_1", "var_1", "SKU-1", "Phone", Paise(249900), 1, "usr_seller"),),
        shipping_address=ShippingAddress("A", "9999999999", "1 Road", "Pune", "MH", "411001"),
        created_at=at, updated_at=at, lock_expires_at=at,
        history=(HistoryEntry(at, None, S.PAYMENT_PENDING, "checked out"),),
    )
    for step in (S.PAID, S.SHIPMENT_CREATED, S.SHIPPED, S.DELIVERED):
        moved = order.transition(step, at, "moved on", actor="test")
        if step is to:
            return moved.event
        order = moved.applied()
    raise AssertionError(to)


def _send(stack, event) -> None:
    stack.client("sqs").send_message(QueueUrl=stack.names.queue_url("order-notifications"), MessageBody=event.to_json())


def _settled(stack) -> bool:
    return queues_drained(stack, "order-notifications", "notifications")


def _put(api, token, body) -> requests.Response:
    return requests.put(f"{api}{PREFERENCES}", json=body, headers=bearer(token), timeout=30)


def test_a_paid_order_reaches_the_feed_and_the_shoppers_mailbox(local_stack, api):
    shopper = Shopper(local_stack, "Asha Rao")
    orders = PaidOrders(local_stack, customer=(shopper.token, shopper.user_id))  # two at ₹499.00
    order = orders.new(quantity=2)

    entry = until(lambda: next((i for i in _feed(api, shopper.token)["items"] if i["kind"] == "order_paid"), None))
    # The real flow ships the order at once, so a "Shipment booked" mail may follow this one.
    [mail] = until(lambda: [m for m in sent_mail(local_stack.aws_endpoint, shopper.email)
                            if m["subject"] == "Payment received"])
    assert "Hello Asha Rao" in mail["body"] and "₹998.00" in mail["body"] and order["order_id"] in mail["body"]
    assert mail["source"] == "Bazaar <no-reply@bazaar.example>"
    sent = until(lambda: (e := next(i for i in _feed(api, shopper.token)["items"] if i["kind"] == "order_paid"))
                 ["deliveries"]["email"]["state"] == "sent" and e)
    assert entry["notification_id"] == sent["notification_id"] and sent["deliveries"]["sms"]["state"] == "skipped"


def test_preferences_read_write_and_refusals(local_stack, api):
    shopper = Shopper(local_stack, "Ravi Kumar")
    defaults = requests.get(f"{api}{PREFERENCES}", headers=bearer(shopper.token), timeout=30)
    assert defaults.status_code == 200, defaults.text
    kinds = {k["kind"]: k for k in defaults.json()["kinds"]}
    assert kinds["order_paid"] == {"kind": "order_paid", "transactional": True, "email": True, "sms": False,
                                   "email_sent": True, "sms_sent": False}
    assert kinds["order_delivered"]["transactional"] is False and defaults.json()["sms_number"] is None

    chosen = _put(api, shopper.token, {"channels": {"order_delivered": {"email": False},
                                                    "order_paid": {"email": False}},
                                       "sms_number": "+919876543210"})
    assert chosen.status_code == 200, chosen.text
    again = {k["kind"]: k for k in requests.get(f"{api}{PREFERENCES}", headers=bearer(shopper.token),
                                                 timeout=30).json()["kinds"]}
    assert again["order_delivered"]["email"] is False and again["order_delivered"]["email_sent"] is False
    # A transactional kind's email: the choice is kept, and reported as sent anyway.
    assert again["order_paid"]["email"] is False and again["order_paid"]["email_sent"] is True

    for body in ({"channels": {"order_teleported": {"email": False}}},
                 {"channels": {"order_shipped": {"pigeon": True}}},
                 {"sms_number": "9876543210"},
                 {"unknown": 1}):
        refused = _put(api, shopper.token, body)
        assert refused.status_code == 400, (body, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "VALIDATION_FAILED" and error["request_id"] and error["details"]
    unauthenticated = requests.get(f"{api}{PREFERENCES}", timeout=30)
    assert unauthenticated.status_code == 401


def test_an_opt_out_stops_the_delivered_email_not_the_feed_entry_nor_a_transactional_mail(local_stack, api):
    shopper = Shopper(local_stack, "Meera Iyer")
    opted = _put(api, shopper.token, {"channels": {"order_delivered": {"email": False},
                                                   "order_paid": {"email": False}}})
    assert opted.status_code == 200, opted.text
    _send(local_stack, _order_event(shopper.user_id, S.DELIVERED, n=1))
    _send(local_stack, _order_event(shopper.user_id, S.PAID, n=2))

    until(lambda: len(_feed(api, shopper.token)["items"]) == 2)
    [paid_mail] = until(lambda: sent_mail(local_stack.aws_endpoint, shopper.email))
    until(lambda: _settled(local_stack))
    assert paid_mail["subject"] == "Payment received" and "₹2499.00" in paid_mail["body"]
    assert [m["subject"] for m in sent_mail(local_stack.aws_endpoint, shopper.email)] == ["Payment received"]
    deliveries = {i["kind"]: i["deliveries"]["email"]["state"] for i in _feed(api, shopper.token)["items"]}
    assert deliveries == {"order_delivered": "skipped", "order_paid": "sent"}


def test_a_redelivered_event_sends_no_second_email(local_stack, api):
    shopper = Shopper(local_stack, "Kiran Das")
    shipped = _order_event(shopper.user_id, S.SHIPPED)
    _send(local_stack, shipped)
    until(lambda: sent_mail(local_stack.aws_endpoint, shopper.email))
    until(lambda: _settled(local_stack))

    _send(local_stack, shipped)  # the same event JSON again, as SQS may redeliver it
    until(lambda: _settled(local_stack))
    assert [m["subject"] for m in sent_mail(local_stack.aws_endpoint, shopper.email)] == ["Order shipped"]
    assert len(_feed(api, shopper.token)["items"]) == 1


def test_read_all_marks_every_entry_read(local_stack, api):
    shopper = Shopper(local_stack, "Anil Shah")
    for n, to in enumerate((S.PAID, S.SHIPPED, S.DELIVERED)):
        _send(local_stack, _order_event(shopper.user_id, to, n=n))
    until(lambda: _feed(api, shopper.token)["unread_count"] == 3)

    marked = requests.post(f"{api}/v1/me/notifications/read-all", headers=bearer(shopper.token), timeout=30)
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"marked_read": 3}
    feed = _feed(api, shopper.token)
    assert feed["unread_count"] == 0 and all(i["read"] for i in feed["items"])
    again = requests.post(f"{api}/v1/me/notifications/read-all", headers=bearer(shopper.token), timeout=30)
    assert again.json() == {"marked_read": 0}
