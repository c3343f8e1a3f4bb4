"""PhonePe webhook verification and parsing, and the verdict on a claim: pure functions."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest

from bazaar.payments.domain import (
    PaymentEvent, PaymentEventKind, PaymentState, PaymentStatus, RefundState, RefundStatus, Verdict, judge,
)
from bazaar.payments.webhooks import (
    UnknownEvent, WebhookCredentials, WebhookRejected, parse_v1, parse_v2, v1_x_verify_valid, v2_authorization_valid,
)

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
CREDENTIALS = WebhookCredentials("BAZAARTEST", "bazaar_user", "s3cretPass1", {"1": "salt-one", "2": "salt-two"})
DIGEST = hashlib.sha256(b"bazaar_user:s3cretPass1").hexdigest()


@pytest.mark.parametrize("header", [DIGEST, DIGEST.upper(), f"SHA256 {DIGEST}", f"sha256 {DIGEST}", f" {DIGEST} "])
def test_v2_authorization_accepts_the_digest_in_either_case_with_an_optional_label(header):
    assert v2_authorization_valid(header, "bazaar_user", "s3cretPass1")


@pytest.mark.parametrize("header", [None, "", DIGEST[:-1], DIGEST + "0", f"Bearer {DIGEST}",
                                    hashlib.sha256(b"bazaar_user:other").hexdigest(), "bazaar_user:s3cretPass1", "é"])
def test_v2_authorization_refuses_anything_else(header):
    assert not v2_authorization_valid(header, "bazaar_user", "s3cretPass1")


def _signed_v1(document: dict, salt_key: str = "salt-one", index: str = "1") -> tuple[bytes, str]:
    response = base64.b64encode(json.dumps(document).encode()).decode()
    return json.dumps({"response": response}).encode(), hashlib.sha256((response + salt_key).encode()).hexdigest() + f"###{index}"


def test_v1_x_verify_knows_each_salt_index_and_refuses_unknown_ones():
    assert v1_x_verify_valid(hashlib.sha256(b"abcsalt-two").hexdigest().upper() + "###2", "abc", CREDENTIALS.salt_keys)
    assert not v1_x_verify_valid(hashlib.sha256(b"abcsalt-two").hexdigest() + "###1", "abc", CREDENTIALS.salt_keys)
    assert not v1_x_verify_valid(hashlib.sha256(b"abcsalt-one").hexdigest() + "###9", "abc", CREDENTIALS.salt_keys)
    assert not v1_x_verify_valid(hashlib.sha256(b"abcsalt-one").hexdigest(), "abc", CREDENTIALS.salt_keys)


def _v1_status(code: str, **data) -> dict:
    return {"success": code == "PAYMENT_SUCCESS", "code": code, "message": "m", "data": {
        "merchantId": "BAZAARTEST", "merchantTransactionId": "ord_1", "transactionId": "T1", "amount": 5000,
        "state": "COMPLETED", "responseCode": "SUCCESS", "newField": "tolerated", **data}}


def test_v1_callback_becomes_an_order_or_refund_event_after_its_checksum_matched():
    body, x_verify = _signed_v1(_v1_status("PAYMENT_SUCCESS"))
    event = parse_v1(body, x_verify, credentials=CREDENTIALS, refund=False, received_at=NOW)
    assert (event.kind, event.merchant_order_id, event.amount_paise) == (PaymentEventKind.ORDER_COMPLETED, "ord_1", 5000)
    refund = parse_v1(body, x_verify, credentials=CREDENTIALS, refund=True, received_at=NOW)
    assert (refund.kind, refund.merchant_refund_id, refund.merchant_order_id) == (PaymentEventKind.REFUND_COMPLETED, "ord_1", None)
    body, x_verify = _signed_v1(_v1_status("PAYMENT_DECLINED", state="FAILED"))
    assert parse_v1(body, x_verify, credentials=CREDENTIALS, refund=False, received_at=NOW).kind is PaymentEventKind.ORDER_FAILED
    body, x_verify = _signed_v1(_v1_status("PAYMENT_PENDING", state="PENDING"))
    with pytest.raises(UnknownEvent):
        parse_v1(body, x_verify, credentials=CREDENTIALS, refund=False, received_at=NOW)


def test_v1_callback_is_refused_when_forged_malformed_or_for_another_merchant():
    body, x_verify = _signed_v1(_v1_status("PAYMENT_SUCCESS"))
    forged = x_verify.replace(x_verify[0], "0" if x_verify[0] != "0" else "1", 1)
    with pytest.raises(WebhookRejected) as rejected:
        parse_v1(body, forged, credentials=CREDENTIALS, refund=False, received_at=NOW)
    assert rejected.value.status == 401
    bad_b64 = "!!not-base64!!"
    garbage = (json.dumps({"response": bad_b64}).encode(), hashlib.sha256((bad_b64 + "salt-one").encode()).hexdigest() + "###1")
    with pytest.raises(WebhookRejected) as rejected:
        parse_v1(*garbage, credentials=CREDENTIALS, refund=False, received_at=NOW)
    assert rejected.value.status == 400
    with pytest.raises(WebhookRejected) as rejected:
        parse_v1(b"{not json", x_verify, credentials=CREDENTIALS, refund=False, received_at=NOW)
    assert rejected.value.status == 400
    body, x_verify = _signed_v1(_v1_status("PAYMENT_SUCCESS", merchantId="SOMEONEELSE"))
    with pytest.raises(WebhookRejected) as rejected:
        parse_v1(body, x_verify, credentials=CREDENTIALS, refund=False, received_at=NOW)
    assert rejected.value.status == 401


def _v2(event: str, **payload) -> bytes:
    base = {"merchantId": "BAZAARTEST", "merchantOrderId": "ord_1", "orderId": "OMO1", "state": "COMPLETED", "amount": 2500}
    return json.dumps({"type": "X", "event": event, "payload": {**base, **payload}}).encode()


def test_v2_bodies_become_typed_events_and_unknown_events_are_set_aside():
    event = parse_v2(_v2("checkout.order.completed"), merchant_id="BAZAARTEST", received_at=NOW)
    assert (event.kind, event.merchant_order_id, event.provider_reference, event.amount_paise) == (
        PaymentEventKind.ORDER_COMPLETED, "ord_1", "OMO1", 2500)
    assert event.payload_sha256 == hashlib.sha256(_v2("checkout.order.completed")).hexdigest()
    refund = parse_v2(_v2("pg.refund.failed", merchantRefundId="rfd_1", originalMerchantOrderId="ord_1", refundId="R1",
                          state="FAILED"), merchant_id="BAZAARTEST", received_at=NOW)
    assert (refund.kind, refund.merchant_refund_id, refund.merchant_order_id) == (PaymentEventKind.REFUND_FAILED, "rfd_1", "ord_1")
    with pytest.raises(UnknownEvent):
        parse_v2(_v2("subscription.paused"), merchant_id="BAZAARTEST", received_at=NOW)


@pytest.mark.parametrize(("body", "status"), [
    (b"[1]", 400), (b"{nope", 400), (json.dumps({"event": "checkout.order.completed"}).encode(), 400),
    (_v2("checkout.order.completed", amount="2500"), 400), (_v2("checkout.order.completed", amount=25.0), 400),
    (_v2("checkout.order.completed", merchantOrderId=None), 400),
    (_v2("checkout.order.completed", merchantId="OTHER"), 401),
])
def test_v2_malformed_bodies_and_other_merchants_are_refused(body, status):
    with pytest.raises(WebhookRejected) as rejected:
        parse_v2(body, merchant_id="BAZAARTEST", received_at=NOW)
    assert rejected.value.status == status


def _event(kind=PaymentEventKind.ORDER_COMPLETED, amount=2500, **ids) -> PaymentEvent:
    ids = ids or ({"merchant_refund_id": "rfd_1", "merchant_order_id": "ord_1"} if kind.is_refund else {"merchant_order_id": "ord_1"})
    return PaymentEvent(api_version="v2", kind=kind, provider_event="e", state="X", amount_paise=amount,
                        received_at=NOW, payload_sha256="a" * 64, **ids)


@pytest.mark.parametrize(("kind", "state", "verdict"), [
    (PaymentEventKind.ORDER_COMPLETED, PaymentState.COMPLETED, Verdict.CONFIRMED),
    (PaymentEventKind.ORDER_COMPLETED, PaymentState.PENDING, Verdict.NOT_YET),
    (PaymentEventKind.ORDER_COMPLETED, PaymentState.FAILED, Verdict.CONTRADICTED),
    (PaymentEventKind.ORDER_FAILED, PaymentState.FAILED, Verdict.CONFIRMED),
    (PaymentEventKind.ORDER_FAILED, PaymentState.COMPLETED, Verdict.CONTRADICTED),
    (PaymentEventKind.ATTEMPT_FAILED, PaymentState.PENDING, Verdict.INFORMATIONAL),
])
def test_a_payment_claim_is_judged_by_phonepe_s_status(kind, state, verdict):
    assert judge(_event(kind), PaymentStatus("ord_1", state, 2500)) is verdict


def test_amount_or_id_differences_are_mismatches_and_no_verdict_is_not_yet():
    assert judge(_event(amount=2499), PaymentStatus("ord_1", PaymentState.COMPLETED, 2500)) is Verdict.MISMATCH
    assert judge(_event(), PaymentStatus("ord_2", PaymentState.COMPLETED, 2500)) is Verdict.MISMATCH
    assert judge(_event(), PaymentStatus("ord_1", PaymentState.PENDING, None, confirmed=False)) is Verdict.NOT_YET


@pytest.mark.parametrize(("kind", "state", "verdict"), [
    (PaymentEventKind.REFUND_ACCEPTED, RefundState.CONFIRMED, Verdict.CONFIRMED),
    (PaymentEventKind.REFUND_ACCEPTED, RefundState.COMPLETED, Verdict.CONFIRMED),
    (PaymentEventKind.REFUND_COMPLETED, RefundState.CONFIRMED, Verdict.NOT_YET),
    (PaymentEventKind.REFUND_COMPLETED, RefundState.COMPLETED, Verdict.CONFIRMED),
    (PaymentEventKind.REFUND_FAILED, RefundState.COMPLETED, Verdict.CONTRADICTED),
])
def test_a_refund_claim_is_judged_by_the_refund_status(kind, state, verdict):
    assert judge(_event(kind, amount=1000), RefundStatus("rfd_1", state, 1000, merchant_order_id="ord_1")) is verdict
    other_order = RefundStatus("rfd_1", state, 1000, merchant_order_id="ord_9")
    assert judge(_event(kind, amount=1000), other_order) is Verdict.MISMATCH
