"""Notifications over the fakes: which kinds are transactional (one table, complete), what the
preferences accept, how each channel's delivery is decided, the delivery pipeline's states
(pending -> sending -> sent/failed; a redelivery sends nothing; a temporary failure raises and
gives the claim back; a permanent one is recorded) and the templates (escaped HTML, rupees)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import UndefinedError
from pydantic import ValidationError

from bazaar.notifications.domain import (
    SEND_LEASE, TRANSACTIONAL, Channel, DeliveryRequest, DeliveryState, Notification, NotificationKind,
    Preferences, announcing, goes_by,
)
from bazaar.notifications.ports import PermanentFailure, Recipient, TemporaryFailure
from bazaar.notifications.rendering import email_for, sms_for, template_names
from bazaar.notifications.schemas import PreferencesIn, PreferencesOut
from bazaar.notifications.services import ChannelBusy, Outlets, Senders, send, tell
from tests.unit.fakes import Clock, FakeDeliveryQueue, FakeFeeds, FakePreferences, FakeProvider, FakeRecipients

K, S = NotificationKind, DeliveryState
AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def a_notification(kind: NotificationKind = K.ORDER_PAID, n: int = 1, **facts) -> Notification:
    return announcing(f"evt_01JDNOTIFY{n:016d}", "usr_shopper", kind, "Payment received", "We received it.", AT,
                      facts={"order_id": "ord_01JD0000000000000000000001", "amount_paise": 149950, **facts})


class Kit:
    def __init__(self, sms_enabled: bool = False, texter: bool = False):
        self.clock = Clock(AT)
        self.feeds, self.preferences, self.queue = FakeFeeds(), FakePreferences(), FakeDeliveryQueue()
        self.mailer, self.texter = FakeProvider(), FakeProvider()
        self.recipients = FakeRecipients({"usr_shopper": Recipient("asha@example.in", "Asha Rao")})
        self.outlets = Outlets(self.feeds, self.preferences, self.queue, self.clock, sms_enabled=sms_enabled)
        self.senders = Senders(self.feeds, self.recipients, self.preferences, self.mailer,
                               self.texter if texter else None, self.clock)

    def state(self, notification: Notification, channel: Channel = Channel.EMAIL):
        return self.feeds.delivery(notification, channel)


# -- classification and preferences -----------------------------------------------------------------


def test_every_kind_is_classified_and_money_kinds_are_transactional():
    assert set(TRANSACTIONAL) == set(NotificationKind)
    assert {k for k, t in TRANSACTIONAL.items() if t} == {
        K.ORDER_PAID, K.PAYMENT_FAILED, K.ORDER_REFUNDED, K.REFUND_REQUESTED, K.REFUND_APPROVED, K.REFUND_REJECTED,
        K.REFUND_FAILED, K.PAYOUT_SENT, K.PAYOUT_REQUESTED, K.PAYOUT_FAILED, K.PAYOUT_REVERSED}


def test_defaults_are_email_on_and_sms_off():
    defaults = Preferences()
    assert all(goes_by(k, Channel.EMAIL, defaults) for k in NotificationKind)
    assert not any(goes_by(k, Channel.SMS, defaults) for k in NotificationKind)


def test_a_transactional_email_ignores_an_opt_out_and_the_others_follow_it():
    opted_out = Preferences(channels={k: {Channel.EMAIL: False} for k in NotificationKind})
    assert goes_by(K.ORDER_PAID, Channel.EMAIL, opted_out) and goes_by(K.PAYOUT_FAILED, Channel.EMAIL, opted_out)
    assert not goes_by(K.ORDER_DELIVERED, Channel.EMAIL, opted_out)
    assert not goes_by(K.ORDER_SHIPPED, Channel.EMAIL, opted_out)


def test_sms_needs_a_number_as_well_as_the_choice():
    chosen = {K.ORDER_SHIPPED: {Channel.SMS: True}}
    assert not goes_by(K.ORDER_SHIPPED, Channel.SMS, Preferences(channels=chosen))
    assert goes_by(K.ORDER_SHIPPED, Channel.SMS, Preferences(channels=chosen, sms_number="+919876543210"))


@pytest.mark.parametrize("body", [
    {"channels": {"order_teleported": {"email": False}}},
    {"channels": {"order_shipped": {"pigeon": True}}},
    {"channels": {"order_shipped": {"email": "perhaps"}}},
    {"sms_number": "9876543210"},
    {"sms_number": "+14155550100"},
    {"sms_number": "+91123456789"},
    {"colour": "blue"},
])
def test_preferences_refuse_unknown_kinds_channels_and_numbers(body):
    with pytest.raises(ValidationError):
        PreferencesIn.model_validate(body)


def test_preferences_report_transactional_email_as_always_sent():
    chosen = PreferencesIn.model_validate({"channels": {"order_paid": {"email": False},
                                                        "order_delivered": {"email": False, "sms": True}},
                                           "sms_number": "+919876543210"}).chosen()
    report = {k.kind: k for k in PreferencesOut.of(chosen, sms_enabled=True).kinds}
    assert report["order_paid"].email is False and report["order_paid"].email_sent is True
    assert report["order_paid"].transactional is True
    assert report["order_delivered"].email_sent is False and report["order_delivered"].sms_sent is True
    assert report["order_shipped"].email_sent is True and report["order_shipped"].sms_sent is False
    off = {k.kind: k for k in PreferencesOut.of(chosen, sms_enabled=False).kinds}
    assert off["order_delivered"].sms_sent is False


# -- telling: the feed entry and each channel's decision ---------------------------------------------


def test_telling_writes_the_entry_with_its_deliveries_and_queues_the_pending_ones():
    kit = Kit()
    notification = a_notification()
    deliveries = tell(notification, kit.outlets)
    assert deliveries[Channel.EMAIL].state is S.PENDING
    assert deliveries[Channel.SMS].state is S.SKIPPED and deliveries[Channel.SMS].reason == "sms is disabled"
    assert kit.queue.sent == [DeliveryRequest(notification=notification, channel=Channel.EMAIL)]
    [entry] = kit.feeds.of("usr_shopper")
    assert entry.deliveries["email"].state is S.PENDING


def test_an_opted_out_kind_is_skipped_but_still_in_the_feed():
    kit = Kit()
    kit.preferences.put("usr_shopper", Preferences(channels={K.ORDER_DELIVERED: {Channel.EMAIL: False}}), AT)
    delivered = a_notification(K.ORDER_DELIVERED)
    deliveries = tell(delivered, kit.outlets)
    assert deliveries[Channel.EMAIL].state is S.SKIPPED and kit.queue.sent == []
    assert [e.kind for e in kit.feeds.of("usr_shopper")] == ["order_delivered"]


def test_sms_is_pending_only_with_the_setting_the_choice_and_a_number():
    chosen = Preferences(channels={K.ORDER_SHIPPED: {Channel.SMS: True}}, sms_number="+919876543210")
    on, off = Kit(sms_enabled=True), Kit(sms_enabled=False)
    for kit in (on, off):
        kit.preferences.put("usr_shopper", chosen, AT)
    assert tell(a_notification(K.ORDER_SHIPPED), on.outlets)[Channel.SMS].state is S.PENDING
    assert tell(a_notification(K.ORDER_SHIPPED), off.outlets)[Channel.SMS].state is S.SKIPPED
    assert {r.channel for r in on.queue.sent} == {Channel.EMAIL, Channel.SMS}


def test_a_redelivered_event_requeues_only_what_is_still_pending():
    kit = Kit()
    notification = a_notification()
    tell(notification, kit.outlets)
    tell(notification, kit.outlets)  # the crash-between-write-and-queue case: queued again, still pending
    assert len(kit.queue.sent) == 2
    send(kit.queue.sent[0], kit.senders)
    # Preferences changed since do not rewrite what was decided; a sent channel is not queued again.
    kit.preferences.put("usr_shopper", Preferences(channels={K.ORDER_PAID: {Channel.EMAIL: False}}), AT)
    tell(notification, kit.outlets)
    assert len(kit.queue.sent) == 2 and len(kit.feeds.of("usr_shopper")) == 1


# -- sending: the state machine ----------------------------------------------------------------------


def test_pending_becomes_sent_once_and_a_redelivered_message_sends_nothing():
    kit = Kit()
    notification = a_notification()
    tell(notification, kit.outlets)
    [request] = kit.queue.sent
    outcome = send(request, kit.senders)
    assert outcome is not None and outcome.state is S.SENT and outcome.provider_message_id == "msg-1"
    assert outcome.attempts == 1 and outcome.lease_until is None
    assert send(request, kit.senders) is None  # a redelivery of the same message
    assert len(kit.mailer.sent) == 1
    [email] = kit.mailer.sent
    assert email.to == "asha@example.in" and "Asha Rao" in email.text and "₹1499.50" in email.html


def test_a_channel_claimed_by_a_live_worker_is_not_sent_twice_and_a_dead_workers_lease_ends():
    kit = Kit()
    notification = a_notification()
    tell(notification, kit.outlets)
    claimed = kit.feeds.claim(notification, Channel.EMAIL, AT, AT + SEND_LEASE)  # a worker that then crashed
    assert claimed is not None and claimed.state is S.SENDING
    with pytest.raises(ChannelBusy):
        send(kit.queue.sent[0], kit.senders)
    assert kit.mailer.sent == []
    kit.clock.advance(seconds=SEND_LEASE.total_seconds() + 1)
    outcome = send(kit.queue.sent[0], kit.senders)
    assert outcome is not None and outcome.state is S.SENT and outcome.attempts == 2
    assert len(kit.mailer.sent) == 1


def test_the_crashed_worker_cannot_overwrite_the_outcome_once_its_lease_was_taken_over():
    kit = Kit()
    notification = a_notification()
    tell(notification, kit.outlets)
    stale = kit.feeds.claim(notification, Channel.EMAIL, AT, AT + timedelta(seconds=1))
    assert stale is not None
    kit.clock.advance(seconds=5)
    send(kit.queue.sent[0], kit.senders)
    failed = stale.model_copy(update={"state": S.FAILED})
    assert kit.feeds.settle(notification, Channel.EMAIL, stale, failed) is False
    assert kit.state(notification).state is S.SENT


def test_throttling_raises_and_gives_the_claim_back_for_the_retry():
    kit = Kit()
    notification = a_notification()
    tell(notification, kit.outlets)
    kit.mailer.fail_with.append(TemporaryFailure("TooManyRequestsException: slow down"))
    with pytest.raises(TemporaryFailure):
        send(kit.queue.sent[0], kit.senders)
    assert kit.state(notification).state is S.PENDING and kit.state(notification).attempts == 1
    outcome = send(kit.queue.sent[0], kit.senders)  # SQS's retry
    assert outcome is not None and outcome.state is S.SENT and outcome.attempts == 2


def test_a_permanent_refusal_is_recorded_and_not_retried():
    kit = Kit()
    notification = a_notification()
    tell(notification, kit.outlets)
    kit.mailer.fail_with.append(PermanentFailure("MessageRejected: Email address not verified"))
    outcome = send(kit.queue.sent[0], kit.senders)
    assert outcome is not None and outcome.state is S.FAILED and "not verified" in (outcome.reason or "")
    assert send(kit.queue.sent[0], kit.senders) is None and kit.mailer.sent == []
    [entry] = kit.feeds.of("usr_shopper")
    assert entry.deliveries["email"].state is S.FAILED


def test_an_email_to_a_user_who_does_not_exist_fails_for_good():
    kit = Kit()
    kit.recipients.people.clear()
    tell(a_notification(), kit.outlets)
    outcome = send(kit.queue.sent[0], kit.senders)
    assert outcome is not None and outcome.state is S.FAILED and outcome.reason == "the user does not exist"


def test_an_sms_goes_to_the_number_in_the_preferences():
    kit = Kit(sms_enabled=True, texter=True)
    kit.preferences.put("usr_shopper", Preferences(channels={K.ORDER_SHIPPED: {Channel.SMS: True}},
                                                   sms_number="+919876543210"), AT)
    notification = a_notification(K.ORDER_SHIPPED)
    tell(notification, kit.outlets)
    [sms] = [r for r in kit.queue.sent if r.channel is Channel.SMS]
    outcome = send(sms, kit.senders)
    assert outcome is not None and outcome.state is S.SENT
    assert kit.texter.sent == [("+919876543210", sms_for(notification))]


# -- templates -------------------------------------------------------------------------------------


def test_every_kind_has_a_text_and_an_html_template_that_renders():
    names = set(template_names())
    recipient = Recipient("asha@example.in", "Asha Rao")
    for kind in NotificationKind:
        assert {f"{kind.value}.txt", f"{kind.value}.html"} <= names
        email = email_for(a_notification(kind, awb="AWB77", utr="UTR99", reason="damaged"), recipient)
        assert "Hello Asha Rao" in email.text and "Hello Asha Rao" in email.html


def test_html_is_escaped_and_the_text_part_is_not():
    recipient = Recipient("asha@example.in", "Asha <b>Rao</b>")
    email = email_for(a_notification(K.REFUND_REJECTED, reason="<script>alert(1)</script>"), recipient)
    assert "<script>" not in email.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "Asha &lt;b&gt;Rao&lt;/b&gt;" in email.html
    assert "<script>alert(1)</script>" in email.text  # plain text: nothing to escape


def test_amounts_show_in_rupees_from_paise():
    email = email_for(a_notification(K.ORDER_PAID, amount_paise=5), Recipient("a@example.in", "A"))
    assert "₹0.05" in email.text and "₹0.05" in email.html


def test_a_template_naming_a_missing_fact_fails_loudly():
    bare = Notification(notification_id="ntf_0000000001", user_id="usr_1", kind=K.ORDER_PAID, title="t",
                        body="b", occurred_at=AT)
    with pytest.raises(UndefinedError, match="amount_paise"):
        email_for(bare, Recipient("a@example.in", "A"))


# -- provider errors ---------------------------------------------------------------------------------


def test_the_sorted_error_codes_are_the_ones_botocore_models_for_the_calls():
    import botocore.session

    from bazaar.notifications.adapters.providers import SES_PERMANENT, SNS_PERMANENT

    session = botocore.session.get_session()
    ses_errors = {e.name for e in session.get_service_model("sesv2").operation_model("SendEmail").error_shapes}
    assert SES_PERMANENT.issubset(ses_errors)
    assert ses_errors - SES_PERMANENT == {"TooManyRequestsException", "LimitExceededException"}
    sns = session.get_service_model("sns")
    sns_codes = {e.metadata["error"]["code"] for e in sns.operation_model("Publish").error_shapes}
    assert SNS_PERMANENT.issubset(sns_codes)


@pytest.mark.parametrize(("code", "status", "permanent"), [
    ("MessageRejected", 400, True), ("MailFromDomainNotVerifiedException", 400, True),
    ("AccountSuspendedException", 400, True), ("SendingPausedException", 400, True),
    ("BadRequestException", 400, True), ("NotFoundException", 404, True),
    ("TooManyRequestsException", 429, False), ("LimitExceededException", 400, False),
    ("InternalFailure", 500, False), ("AccessDeniedException", 403, False),
])
def test_ses_errors_are_permanent_or_temporary(code, status, permanent):
    from botocore.exceptions import ClientError

    from bazaar.notifications.adapters.providers import SesMailer
    from bazaar.notifications.ports import Email

    class RefusingSes:
        def send_email(self, **_):
            raise ClientError({"Error": {"Code": code, "Message": "no"},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")

    expected = PermanentFailure if permanent else TemporaryFailure
    with pytest.raises(expected, match=code):
        SesMailer(RefusingSes(), "Bazaar <no-reply@bazaar.example>").send(Email("a@b.in", "A", "s", "t", "<p>t</p>"))


def test_an_unreachable_ses_is_temporary():
    from botocore.exceptions import EndpointConnectionError

    from bazaar.notifications.adapters.providers import SesMailer
    from bazaar.notifications.ports import Email

    class DownSes:
        def send_email(self, **_):
            raise EndpointConnectionError(endpoint_url="https://email.ap-south-1.amazonaws.com")

    with pytest.raises(TemporaryFailure):
        SesMailer(DownSes(), "no-reply@bazaar.example").send(Email("a@b.in", "A", "s", "t", "<p>t</p>"))
