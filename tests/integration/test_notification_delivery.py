"""The notifications adapters against the local stack's moto: the feed entry's delivery states
moved by conditional updates on nested attributes (claim, lease take-over, settle only by the
claim's holder), mark-all-read over the sparse index, preferences, the recipient read from the
identity table, SES v2 (a sent message readable in moto's data, an unverified sender a permanent
failure) and SNS (an SMS to a phone number; a malformed number a permanent failure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.identity.adapters.dynamodb import DynamoDbUsers
from bazaar.identity.domain import Role, User, UserStatus
from bazaar.notifications.adapters.dynamodb import DynamoDbFeeds, DynamoDbPreferences
from bazaar.notifications.adapters.identity import IdentityRecipients
from bazaar.notifications.adapters.providers import SesMailer, SnsTexter
from bazaar.notifications.domain import (
    Channel, Delivery, DeliveryState, NotificationKind, Preferences, announcing, plan_deliveries,
)
from bazaar.notifications.ports import Email, PermanentFailure
from infra.description.contexts.notifications import EMAIL_SENDER
from tests.mailbox import sent_mail

S = DeliveryState
AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def feeds(local_stack):
    return DynamoDbFeeds(local_stack.client("dynamodb"), local_stack.names.table_name("notifications"))


def a_notification(user_id: str, n: int = 1, kind=NotificationKind.ORDER_PAID):
    return announcing(f"evt_{uuid.uuid4().hex}", user_id, kind, "Payment received", "We received it.",
                      AT + timedelta(minutes=n), facts={"order_id": "ord_1", "amount_paise": 1000})


def test_the_entry_keeps_its_first_deliveries_and_a_claim_goes_to_one_worker(feeds):
    user = f"usr_{uuid.uuid4().hex[:12]}"
    notification = a_notification(user)
    planned = plan_deliveries(notification, Preferences(), sms_enabled=False, at=AT)
    assert feeds.add_once(notification, planned) == planned
    other = {c: Delivery(state=S.SKIPPED, at=AT) for c in Channel}
    assert feeds.add_once(notification, other) == planned  # a redelivery: the stored states stand

    claimed = feeds.claim(notification, Channel.EMAIL, AT, AT + timedelta(seconds=90))
    assert claimed is not None and claimed.state is S.SENDING and claimed.attempts == 1
    assert feeds.claim(notification, Channel.EMAIL, AT + timedelta(seconds=10), AT + timedelta(seconds=100)) is None
    assert feeds.claim(notification, Channel.SMS, AT, AT + timedelta(seconds=90)) is None  # skipped

    # The lease ends: another worker takes over, and the first can no longer settle.
    later = AT + timedelta(seconds=91)
    taken = feeds.claim(notification, Channel.EMAIL, later, later + timedelta(seconds=90))
    assert taken is not None and taken.attempts == 2
    sent = taken.model_copy(update={"state": S.SENT, "lease_until": None, "provider_message_id": "m-1"})
    assert feeds.settle(notification, Channel.EMAIL, claimed, sent) is False
    assert feeds.settle(notification, Channel.EMAIL, taken, sent) is True
    assert feeds.delivery(notification, Channel.EMAIL) == sent
    [entry], _ = feeds.page(user, 10, None)
    assert entry.deliveries["email"].state is S.SENT and entry.deliveries["sms"].state is S.SKIPPED


def test_mark_all_read_marks_each_unread_entry_once(feeds):
    user = f"usr_{uuid.uuid4().hex[:12]}"
    entries = [a_notification(user, n) for n in range(3)]
    for notification in entries:
        feeds.add_once(notification, {})
    feeds.mark_read(user, entries[0].notification_id, AT)
    assert feeds.mark_all_read(user, AT + timedelta(hours=1)) == 2
    assert feeds.unread_count(user) == 0 and feeds.mark_all_read(user, AT) == 0
    page, _ = feeds.page(user, 10, None)
    assert sorted(e.read_at for e in page if e.read_at) == [AT, AT + timedelta(hours=1), AT + timedelta(hours=1)]


def test_preferences_round_trip_and_default(local_stack):
    store = DynamoDbPreferences(local_stack.client("dynamodb"), local_stack.names.table_name("notifications"))
    user = f"usr_{uuid.uuid4().hex[:12]}"
    assert store.get(user) == Preferences()
    chosen = Preferences(channels={NotificationKind.ORDER_DELIVERED: {Channel.EMAIL: False, Channel.SMS: True}},
                         sms_number="+919876543210")
    store.put(user, chosen, AT)
    assert store.get(user) == chosen


def test_the_recipient_is_read_from_the_identity_table(local_stack):
    dynamodb = local_stack.client("dynamodb")
    users = DynamoDbUsers(local_stack.names.table_name("identity"), local_stack.names.table_name("audit"),
                          client=dynamodb)
    token = uuid.uuid4().hex[:10]
    users.add(User(user_id=f"usr_{token}", sub=f"sub-{token}", email=f"{token}@shop.bazaar.local", name="Meera Iyer",
                   role=Role.CUSTOMER, status=UserStatus.ACTIVE, created_at=AT))
    recipients = IdentityRecipients(users)
    found = recipients.recipient(f"usr_{token}")
    assert found is not None and (found.email, found.name) == (f"{token}@shop.bazaar.local", "Meera Iyer")
    assert recipients.recipient("usr_nobody") is None


def test_ses_sends_from_the_verified_sender_and_moto_keeps_the_message(local_stack):
    to = f"{uuid.uuid4().hex[:10]}@example.in"
    mailer = SesMailer(local_stack.client("sesv2"), EMAIL_SENDER)
    message_id = mailer.send(Email(to=to, to_name="Asha", subject="Payment received", text="Hello Asha ₹10.00",
                                   html="<p>Hello Asha ₹10.00</p>"))
    [kept] = sent_mail(local_stack.aws_endpoint, to)
    assert kept["id"] == message_id and kept["subject"] == "Payment received"
    assert "Hello Asha ₹10.00" in kept["body"] and kept["source"] == EMAIL_SENDER


def test_an_unverified_sender_is_a_permanent_failure(local_stack):
    to = f"{uuid.uuid4().hex[:10]}@example.in"
    mailer = SesMailer(local_stack.client("sesv2"), "Nobody <nobody@unverified.example>")
    with pytest.raises(PermanentFailure, match="MessageRejected"):
        mailer.send(Email(to=to, to_name="Asha", subject="s", text="t", html="<p>t</p>"))
    assert sent_mail(local_stack.aws_endpoint, to) == []


def test_sns_sends_an_sms_to_a_phone_number_and_refuses_a_malformed_one(local_stack):
    texter = SnsTexter(local_stack.client("sns"))
    assert texter.send("+919876543210", "Bazaar: Order shipped.")
    with pytest.raises(PermanentFailure):
        texter.send("not-a-number", "Bazaar: Order shipped.")
