"""Bazaar's PhonePe clients (v2 and v1) against the sandbox, over HTTP: tokens, retries with the
same merchant id, throttling, PhonePe's failures, and the worker's re-confirmation use case."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime

import pytest
import requests

from bazaar.payments import services
from bazaar.payments.adapters import phonepe_provider
from bazaar.payments.adapters.phonepe_v1 import PhonePeV1
from bazaar.payments.adapters.phonepe_v2 import PhonePeV2
from bazaar.payments.config import PhonePeCredentials, PhonePeSettings
from bazaar.payments.domain import (
    PaymentEvent, PaymentEventKind, PaymentNotFound, PaymentProviderAuthFailed, PaymentProviderRejected,
    PaymentProviderUnavailable, PaymentState, RefundState, Verdict,
)

CALLBACK = "https://bazaar.example/webhooks/phonepe"
RETURN = "https://bazaar.example/checkout/return"


def _settings(sandbox, version: str = "v2", timeout: float = 2.0) -> PhonePeSettings:
    return PhonePeSettings.model_validate({
        "PHONEPE_API_VERSION": version, "PHONEPE_BASE_URL": sandbox.url, "PHONEPE_OAUTH_BASE_URL": sandbox.url,
        "PHONEPE_TIMEOUT_SECONDS": str(timeout)})


def _credentials(sandbox, **overrides) -> PhonePeCredentials:
    return PhonePeCredentials(**{**asdict(sandbox.credentials), **overrides})


@pytest.fixture
def v2(sandbox) -> PhonePeV2:
    return phonepe_provider(_settings(sandbox), _credentials(sandbox))


@pytest.fixture
def v1(sandbox) -> PhonePeV1:
    return phonepe_provider(_settings(sandbox, "v1"), _credentials(sandbox))


def _id(prefix: str) -> str:
    return f"{prefix}_{time.time_ns()}"[:34]


def _scenario(sandbox, **changes) -> None:
    requests.post(f"{sandbox.url}/_sandbox/scenarios", json=changes, timeout=5).raise_for_status()


def _outcome(sandbox, merchant_order_id: str, outcome: str) -> None:
    requests.post(f"{sandbox.url}/_sandbox/orders/{merchant_order_id}/outcome", json={"outcome": outcome},
                  timeout=5).raise_for_status()


def _calls(sandbox, key: str) -> int:
    return sum(n for k, n in sandbox.state.calls.items() if key in k)


# -- v2 --------------------------------------------------------------------------------------------


def test_v2_creates_a_payment_and_reads_its_verdict_with_one_token(sandbox, v2):
    order_id = _id("ord")
    created = v2.create_payment(order_id, 12_345, RETURN, CALLBACK)
    assert created.redirect_url.startswith(f"{sandbox.url}/pay/") and created.provider_order_id
    assert v2.order_status(order_id).state is PaymentState.PENDING
    _outcome(sandbox, order_id, "success")
    status = v2.order_status(order_id)
    assert (status.state, status.amount_paise, status.merchant_order_id) == (PaymentState.COMPLETED, 12_345, order_id)
    assert status.transaction_id and status.confirmed
    assert v2.tokens.fetches == 1
    with pytest.raises(PaymentNotFound):
        v2.order_status(_id("none"))


def test_v2_renews_the_token_at_half_life(sandbox, v2):
    sandbox.state.token_ttl_seconds = 2
    v2.order_status(v2.create_payment(_id("ord"), 1_000, RETURN, CALLBACK).merchant_order_id)
    assert v2.tokens.fetches == 1
    time.sleep(1.1)  # past half of the 2 s life, still valid at PhonePe
    v2.create_payment(_id("ord"), 1_000, RETURN, CALLBACK)
    assert v2.tokens.fetches == 2
    assert _calls(sandbox, "/checkout/v2/pay") == 2  # renewed before use: no call was refused


def test_v2_renews_the_token_after_a_401_and_repeats_the_call_once(sandbox, v2):
    v2.create_payment(_id("ord"), 1_000, RETURN, CALLBACK)
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", timeout=5).raise_for_status()
    order_id = _id("ord")
    created = v2.create_payment(order_id, 1_000, RETURN, CALLBACK)
    assert created.redirect_url
    assert v2.tokens.fetches == 2
    assert _calls(sandbox, "/checkout/v2/pay") == 3  # one refused with 401, repeated once


def test_v2_bad_client_credentials_are_a_configuration_error(sandbox):
    client = PhonePeV2(_settings(sandbox), _credentials(sandbox, client_secret="wrong"))
    with pytest.raises(PaymentProviderAuthFailed):
        client.order_status(_id("ord"))


def test_v2_timed_out_create_is_retried_with_the_same_id_and_found_through_status(sandbox):
    client = PhonePeV2(_settings(sandbox, timeout=0.5), _credentials(sandbox))
    order_id = _id("slow")
    _scenario(sandbox, pay_timeouts=1, pay_delay_seconds=1.5)
    created = client.create_payment(order_id, 4_200, RETURN, CALLBACK)
    assert created.merchant_order_id == order_id and created.redirect_lost
    assert created.provider_order_id == sandbox.state.order(order_id).order_id
    assert created.state is PaymentState.PENDING
    assert _calls(sandbox, "/checkout/v2/pay") == 2  # the retry carried the same id (refused as a duplicate)
    assert [o for o in sandbox.state.orders if o.startswith("slow_")] == [order_id]  # never a new id


def test_v2_refused_create_is_a_definite_failure(sandbox, v2):
    order_id = _id("dup")
    v2.create_payment(order_id, 1_000, RETURN, CALLBACK)
    with pytest.raises(PaymentProviderRejected) as refused:
        v2.create_payment(order_id, 1_000, RETURN, CALLBACK)
    assert refused.value.provider_code == "DUPLICATE_MERCHANT_ORDER_ID"


def test_v2_rides_out_short_throttling_and_gives_up_on_long(sandbox, v2):
    order_id = v2.create_payment(_id("ord"), 1_000, RETURN, CALLBACK).merchant_order_id
    _scenario(sandbox, throttle_next=2, retry_after_seconds=0)
    assert v2.order_status(order_id).state is PaymentState.PENDING
    _scenario(sandbox, throttle_next=10)
    with pytest.raises(PaymentProviderUnavailable):
        v2.order_status(order_id)
    _scenario(sandbox, throttle_next=2, retry_after_seconds=0)
    assert v2.create_payment(_id("ord"), 1_000, RETURN, CALLBACK).redirect_url  # 429 means not created: retried


def test_v2_status_5xx_is_retried_then_unavailable(sandbox, v2):
    order_id = v2.create_payment(_id("ord"), 1_000, RETURN, CALLBACK).merchant_order_id
    _scenario(sandbox, status_failures=2, status_failure_mode="gateway_error")
    assert v2.order_status(order_id).confirmed
    _scenario(sandbox, status_failures=3, status_failure_mode="gateway_error")
    with pytest.raises(PaymentProviderUnavailable):
        v2.order_status(order_id)


def test_v2_internal_server_error_means_still_pending_not_failed(sandbox, v2):
    order_id = v2.create_payment(_id("ord"), 1_000, RETURN, CALLBACK).merchant_order_id
    _outcome(sandbox, order_id, "success")
    _scenario(sandbox, status_failures=3, status_failure_mode="internal_error")
    status = v2.order_status(order_id)
    assert status.state is PaymentState.PENDING and not status.confirmed
    assert status.provider_code == "INTERNAL_SERVER_ERROR"
    assert v2.order_status(order_id).state is PaymentState.COMPLETED  # once PhonePe recovers


def test_v2_refund_and_refund_status(sandbox, v2):
    order_id = v2.create_payment(_id("ord"), 5_000, RETURN, CALLBACK).merchant_order_id
    _outcome(sandbox, order_id, "success")
    refund_id = _id("rfd")
    started = v2.refund(refund_id, order_id, 3_000, CALLBACK)
    assert started.state is RefundState.PENDING and started.provider_refund_id
    with pytest.raises(PaymentProviderRejected) as over:
        v2.refund(_id("rfd"), order_id, 2_001, CALLBACK)
    assert over.value.provider_code == "REFUND_AMOUNT_EXCEEDED"
    requests.post(f"{sandbox.url}/_sandbox/refunds/{refund_id}/outcome", json={"outcome": "completed"},
                  timeout=5).raise_for_status()
    status = v2.refund_status(refund_id)
    assert (status.state, status.amount_paise, status.merchant_order_id) == (RefundState.COMPLETED, 3_000, order_id)


# -- v1 --------------------------------------------------------------------------------------------


def test_v1_pays_refunds_and_reads_status_with_salted_checksums(sandbox, v1):
    order_id = _id("v1o")
    created = v1.create_payment(order_id, 7_000, RETURN, CALLBACK)
    assert created.redirect_url.startswith(f"{sandbox.url}/pay/")
    assert v1.order_status(order_id).state is PaymentState.PENDING
    _outcome(sandbox, order_id, "success")
    assert v1.order_status(order_id).state is PaymentState.COMPLETED
    refund_id = _id("v1r")
    assert v1.refund(refund_id, order_id, 7_000, CALLBACK).state is RefundState.PENDING
    assert v1.refund_status(refund_id).state is RefundState.PENDING
    requests.post(f"{sandbox.url}/_sandbox/refunds/{refund_id}/outcome", json={"outcome": "completed"},
                  timeout=5).raise_for_status()
    assert v1.refund_status(refund_id).state is RefundState.COMPLETED


def test_v1_wrong_salt_is_a_configuration_error(sandbox):
    client = PhonePeV1(_settings(sandbox, "v1"), _credentials(sandbox, salt_key="wrong"))
    with pytest.raises(PaymentProviderAuthFailed):
        client.create_payment(_id("v1o"), 1_000, RETURN, CALLBACK)


def test_v1_timed_out_create_is_found_through_status_and_internal_error_is_pending(sandbox):
    client = PhonePeV1(_settings(sandbox, "v1", timeout=0.5), _credentials(sandbox))
    order_id = _id("v1s")
    _scenario(sandbox, pay_timeouts=1, pay_delay_seconds=1.5)
    created = client.create_payment(order_id, 1_500, RETURN, CALLBACK)
    assert created.redirect_lost and created.merchant_order_id == order_id
    _scenario(sandbox, status_failures=3, status_failure_mode="internal_error")
    status = client.order_status(order_id)
    assert status.state is PaymentState.PENDING and not status.confirmed


# -- the worker's use case: re-confirming a webhook's claim ----------------------------------------


def _claim(order_id: str, amount: int, kind=PaymentEventKind.ORDER_COMPLETED) -> PaymentEvent:
    return PaymentEvent(api_version="v2", kind=kind, provider_event="checkout.order.completed",
                        merchant_order_id=order_id, state="COMPLETED", amount_paise=amount,
                        received_at=datetime.now(UTC), payload_sha256="0" * 64)


def test_a_claim_is_confirmed_only_when_phonepe_agrees_on_state_amount_and_id(sandbox, v2):
    order_id = v2.create_payment(_id("ord"), 9_900, RETURN, CALLBACK).merchant_order_id
    assert services.confirm_payment_event(_claim(order_id, 9_900), v2).verdict is Verdict.NOT_YET
    _outcome(sandbox, order_id, "success")
    assert services.confirm_payment_event(_claim(order_id, 9_900), v2).verdict is Verdict.CONFIRMED
    assert services.confirm_payment_event(_claim(order_id, 1), v2).verdict is Verdict.MISMATCH
    assert services.confirm_payment_event(_claim(_id("ghost"), 9_900), v2).verdict is Verdict.MISMATCH
    failed_claim = _claim(order_id, 9_900, PaymentEventKind.ORDER_FAILED)
    assert services.confirm_payment_event(failed_claim, v2).verdict is Verdict.CONTRADICTED
    _scenario(sandbox, status_failures=3, status_failure_mode="internal_error")
    assert services.confirm_payment_event(_claim(order_id, 9_900), v2).verdict is Verdict.NOT_YET
