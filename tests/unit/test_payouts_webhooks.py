"""RazorpayX payout webhooks: the signature over the raw bytes, and what a body may say."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from bazaar.payouts.webhooks import (
    Ignored,
    PayoutWebhook,
    Rejected,
    derived_event_id,
    parse_payout_webhook,
    payload_digest,
    verify_signature,
)

SECRET = "whsec-for-unit-tests"
CREATED_AT = 1_790_000_000


def a_payout(**overrides) -> dict:
    return {"id": "pout_00000000000001", "entity": "payout", "fund_account_id": "fa_00000000000001",
            "amount": 125_000, "currency": "INR", "fees": 590, "tax": 90, "status": "processed",
            "utr": "123456789012", "mode": "IMPS", "purpose": "payout", "reference_id": "pay_1",
            "narration": "Bazaar payout", "batch_id": None,
            "status_details": {"description": "Payout is processed.", "source": "beneficiary_bank",
                               "reason": "payout_processed"},
            "created_at": CREATED_AT - 60, **overrides}


def an_event(event: str = "payout.processed", payout: dict | None = None, **overrides) -> bytes:
    envelope = {"entity": "event", "account_id": "acc_00000000000001", "event": event, "contains": ["payout"],
                "payload": {"payout": {"entity": payout or a_payout()}}, "created_at": CREATED_AT, **overrides}
    return json.dumps(envelope, separators=(",", ":")).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- the signature ----------------------------------------------------------------------------


def test_a_body_signed_with_the_webhook_secret_verifies():
    body = an_event()
    assert verify_signature(body, sign(body), SECRET)
    assert verify_signature(body, sign(body).upper(), SECRET)  # hex is hex, whatever its case


@pytest.mark.parametrize("signature", [None, "", "0" * 64, "not hex at all", "ü" * 64])
def test_missing_or_forged_signatures_fail(signature):
    assert not verify_signature(an_event(), signature, SECRET)


def test_a_signature_made_with_another_secret_fails():
    body = an_event()
    assert not verify_signature(body, sign(body, "the API key secret, not the webhook one"), SECRET)
    assert not verify_signature(body, sign(body), "")


def test_a_re_serialised_body_fails_though_it_says_the_same():
    body = an_event()
    pretty = json.dumps(json.loads(body), indent=2).encode()
    assert json.loads(pretty) == json.loads(body)
    assert not verify_signature(pretty, sign(body), SECRET)


def test_payload_digest_is_the_sha256_of_the_bytes():
    assert payload_digest(b"{}") == hashlib.sha256(b"{}").hexdigest()


# -- the body ---------------------------------------------------------------------------------


def test_a_payout_event_becomes_a_payout_webhook():
    body = an_event()
    parsed = parse_payout_webhook(body, "Jd8AJwnt3Sb6Gr")
    assert isinstance(parsed, PayoutWebhook)
    assert (parsed.event_id, parsed.event) == ("Jd8AJwnt3Sb6Gr", "payout.processed")
    assert parsed.occurred_at == datetime.fromtimestamp(CREATED_AT, UTC)
    assert parsed.payload_sha256 == payload_digest(body)
    payout = parsed.payout
    assert (payout.payout_id, payout.status, payout.amount_paise, payout.utr) == (
        "pout_00000000000001", "processed", 125_000, "123456789012")
    assert (payout.fees_paise, payout.tax_paise, payout.reference_id) == (590, 90, "pay_1")
    assert payout.failure_reason is None and payout.status_reason == "payout_processed"


def test_it_travels_as_json_and_comes_back_equal():
    parsed = parse_payout_webhook(an_event(), "evt_1")
    assert isinstance(parsed, PayoutWebhook)
    assert PayoutWebhook.model_validate_json(parsed.model_dump_json()) == parsed


def test_a_failed_payout_carries_why():
    failed = a_payout(status="failed", utr=None, status_details={
        "description": "Beneficiary bank is offline", "source": "beneficiary_bank", "reason": "bank_offline"})
    parsed = parse_payout_webhook(an_event("payout.failed", failed), None)
    assert isinstance(parsed, PayoutWebhook)
    assert parsed.payout.failure_reason == "Beneficiary bank is offline"
    reason_only = a_payout(status="reversed", status_details={"reason": "beneficiary_bank_returned"})
    parsed = parse_payout_webhook(an_event("payout.reversed", reason_only), None)
    assert isinstance(parsed, PayoutWebhook) and parsed.payout.failure_reason == "beneficiary_bank_returned"


def test_without_the_event_id_header_the_id_is_derived_and_stable():
    first = parse_payout_webhook(an_event(), None)
    again = parse_payout_webhook(an_event(), "   ")
    assert isinstance(first, PayoutWebhook) and isinstance(again, PayoutWebhook)
    assert first.event_id == again.event_id == derived_event_id("pout_00000000000001", "payout.processed",
                                                                 "processed", CREATED_AT)
    later = parse_payout_webhook(an_event(created_at=CREATED_AT + 1), None)
    assert isinstance(later, PayoutWebhook) and later.event_id != first.event_id


def test_initiated_and_updated_in_the_same_second_get_different_derived_ids():
    processing = a_payout(status="processing", utr=None)
    with_utr = a_payout(status="processing")
    initiated = parse_payout_webhook(an_event("payout.initiated", processing), None)
    updated = parse_payout_webhook(an_event("payout.updated", with_utr), None)
    assert isinstance(initiated, PayoutWebhook) and isinstance(updated, PayoutWebhook)
    assert initiated.event_id != updated.event_id


def test_the_envelope_time_is_used_and_the_entity_time_is_the_fallback():
    body = json.loads(an_event())
    del body["created_at"]
    parsed = parse_payout_webhook(json.dumps(body).encode(), "e1")
    assert isinstance(parsed, PayoutWebhook)
    assert parsed.occurred_at == datetime.fromtimestamp(CREATED_AT - 60, UTC)


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "not JSON"),
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[]", "not an event envelope"),
    (b'{"event": "payout.processed"}', "not an event envelope"),
    (b'{"entity": "event"}', "without an event name"),
    (b'{"entity": "event", "event": 7}', "without an event name"),
    (b'{"entity": "event", "event": "payout.processed", "payload": {}}', "without payload.payout.entity"),
    (b'{"entity": "event", "event": "payout.failed", "payload": {"payout": {"entity": "x"}}}',
     "without payload.payout.entity"),
])
def test_malformed_bodies_are_rejected_with_400(body, reason):
    parsed = parse_payout_webhook(body, "e1")
    assert isinstance(parsed, Rejected) and parsed.status == 400 and reason in parsed.reason


@pytest.mark.parametrize("broken", [{"id": None}, {"status": ""}, {"amount": "125000"}, {"amount": True}])
def test_a_payout_entity_without_id_status_or_integer_amount_is_rejected(broken):
    parsed = parse_payout_webhook(an_event(payout=a_payout(**broken)), "e1")
    assert isinstance(parsed, Rejected) and parsed.status == 400


def test_without_any_time_the_event_is_rejected():
    body = json.loads(an_event(payout=a_payout(created_at=None)))
    del body["created_at"]
    assert isinstance(parse_payout_webhook(json.dumps(body).encode(), "e1"), Rejected)


@pytest.mark.parametrize("event", ["payout_link.issued", "payment.captured", "payout.downtime.started",
                                   "transaction.created"])
def test_events_we_do_not_act_on_are_ignored_not_rejected(event):
    # A 4xx would make RazorpayX retry for a day and then disable the endpoint.
    parsed = parse_payout_webhook(an_event(event), "e1")
    assert isinstance(parsed, Ignored) and event in parsed.reason
