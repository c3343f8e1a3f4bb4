"""The PhonePe sandbox speaks PhonePe's wire protocol as docs/providers/phonepe.md describes it
(v2 OAuth + JSON, v1 base64 + X-VERIFY), with its errors, refund rules and webhooks. Checksums
here are computed by the test itself, from the documented rules, not by any Bazaar code."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
import requests

pytestmark = pytest.mark.usefixtures("receiver")


def _token(sandbox, **overrides) -> requests.Response:
    c = sandbox.credentials
    form = {"client_id": c.client_id, "client_secret": c.client_secret, "client_version": c.client_version,
            "grant_type": "client_credentials", **overrides}
    return requests.post(f"{sandbox.url}/v1/oauth/token", data=form, timeout=5)


def _auth(sandbox) -> dict[str, str]:
    token = _token(sandbox).json()
    return {"Authorization": f"{token['token_type']} {token['access_token']}"}


def _pay_body(merchant_order_id: str, amount: int = 10_000, **extra) -> dict:
    return {"merchantOrderId": merchant_order_id, "amount": amount,
            "paymentFlow": {"type": "PG_CHECKOUT", "merchantUrls": {"redirectUrl": "https://shop.example/return"}}, **extra}


def _pay(sandbox, merchant_order_id: str, amount: int = 10_000, headers=None) -> requests.Response:
    return requests.post(f"{sandbox.url}/checkout/v2/pay", json=_pay_body(merchant_order_id, amount),
                         headers=headers or _auth(sandbox), timeout=5)


def _outcome(sandbox, merchant_order_id: str, outcome: str) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/orders/{merchant_order_id}/outcome", json={"outcome": outcome}, timeout=5)
    assert response.status_code == 200, response.text


def _unique(prefix: str) -> str:
    return f"{prefix}_{time.time_ns()}"


def _x_verify(text: str, salt_key: str, index: str = "1", upper: bool = False) -> str:
    digest = hashlib.sha256((text + salt_key).encode()).hexdigest()
    return (digest.upper() if upper else digest) + "###" + index


def _v1_post(sandbox, path: str, inner: dict, *, salt_key=None, hashed_path=None, index="1", upper=False):
    payload = base64.b64encode(json.dumps(inner).encode()).decode()
    x_verify = _x_verify(payload + (hashed_path or path), salt_key or sandbox.credentials.salt_key, index, upper)
    return requests.post(f"{sandbox.url}{path}", json={"request": payload},
                         headers={"Content-Type": "application/json", "X-VERIFY": x_verify}, timeout=5)


def _v1_pay_inner(sandbox, transaction_id: str, amount: int = 5_000, callback: str = "") -> dict:
    return {"merchantId": sandbox.credentials.merchant_id, "merchantTransactionId": transaction_id,
            "merchantUserId": "MU1", "amount": amount, "redirectUrl": "https://shop.example/return",
            "redirectMode": "REDIRECT", "callbackUrl": callback or "https://shop.example/cb",
            "paymentInstrument": {"type": "PAY_PAGE"}}


def _v1_status(sandbox, transaction_id: str, *, merchant_header=True) -> requests.Response:
    c = sandbox.credentials
    path = f"/pg/v1/status/{c.merchant_id}/{transaction_id}"
    headers = {"Content-Type": "application/json", "X-VERIFY": _x_verify(path, c.salt_key)}
    if merchant_header:
        headers["X-MERCHANT-ID"] = c.merchant_id
    return requests.get(f"{sandbox.url}{path}", headers=headers, timeout=5)


# -- v2: OAuth -----------------------------------------------------------------------------------


def test_token_is_issued_for_form_encoded_client_credentials(sandbox):
    before = int(time.time())
    response = _token(sandbox)
    assert response.status_code == 200
    token = response.json()
    assert set(token) >= {"access_token", "encrypted_access_token", "token_type", "issued_at", "expires_at",
                          "expires_in", "session_expires_at", "refresh_token"}
    assert token["token_type"] == "O-Bearer"
    # epoch seconds, not milliseconds, and a short configurable life
    assert before - 1 <= token["issued_at"] <= int(time.time()) + 1
    assert token["expires_at"] - token["issued_at"] == 300


def test_token_refuses_wrong_credentials_json_bodies_and_other_grants(sandbox):
    wrong = _token(sandbox, client_secret="not-it")
    assert wrong.status_code == 401
    assert set(wrong.json()) == {"errorCode", "context"}  # auth errors have their own shape
    assert _token(sandbox, client_version="2").status_code == 401
    assert _token(sandbox, grant_type="password").status_code == 400
    c = sandbox.credentials
    as_json = requests.post(f"{sandbox.url}/v1/oauth/token", timeout=5, json={
        "client_id": c.client_id, "client_secret": c.client_secret, "client_version": c.client_version,
        "grant_type": "client_credentials"})
    assert as_json.status_code == 400


def test_pg_calls_need_a_live_token_of_the_issued_type(sandbox):
    order_id = _unique("tok")
    missing = requests.post(f"{sandbox.url}/checkout/v2/pay", json=_pay_body(order_id), timeout=5)
    assert missing.status_code == 401 and "errorCode" in missing.json()
    token = _token(sandbox).json()
    assert _pay(sandbox, order_id, headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401
    assert _pay(sandbox, order_id, headers={"Authorization": "O-Bearer made-up"}).status_code == 401

    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", timeout=5)
    expired = _pay(sandbox, order_id, headers={"Authorization": f"O-Bearer {token['access_token']}"})
    assert expired.status_code == 401
    assert expired.json()["errorCode"] == "TOKEN_EXPIRED"
    assert _pay(sandbox, order_id).status_code == 200  # a fresh token works


# -- v2: pay and status ----------------------------------------------------------------------------


def test_pay_answers_a_pending_order_and_refuses_a_second_with_the_same_id(sandbox):
    order_id = _unique("ord")
    response = _pay(sandbox, order_id)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"orderId", "state", "expireAt", "redirectUrl"}
    assert body["state"] == "PENDING"
    assert body["expireAt"] > time.time() * 1000  # epoch milliseconds
    assert body["redirectUrl"].startswith(sandbox.url + "/pay/")

    again = _pay(sandbox, order_id)
    assert again.status_code == 400
    assert again.json()["code"] == "DUPLICATE_MERCHANT_ORDER_ID"
    assert set(again.json()) == {"code", "message", "data"}


@pytest.mark.parametrize("change", [
    {"amount": 99}, {"amount": 100.5}, {"amount": "1000"}, {"merchantOrderId": "has space"},
    {"merchantOrderId": "x" * 64}, {"paymentFlow": {"type": "PG_CHECKOUT"}},
    {"paymentFlow": {"type": "CUSTOM", "merchantUrls": {"redirectUrl": "https://a.example"}}},
    {"expireAfter": 10},
])
def test_pay_refuses_invalid_fields_with_bad_request(sandbox, change):
    body = {**_pay_body(_unique("bad")), **change}
    response = requests.post(f"{sandbox.url}/checkout/v2/pay", json=body, headers=_auth(sandbox), timeout=5)
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_order_status_shows_the_latest_attempt_or_all_and_the_error_context_on_request(sandbox, receiver):
    order_id = _unique("ord")
    _pay(sandbox, order_id)
    _outcome(sandbox, order_id, "attempt_failed")
    _outcome(sandbox, order_id, "failure")
    url = f"{sandbox.url}/checkout/v2/order/{order_id}/status"

    latest = requests.get(url, params={"details": "false", "errorContext": "false"}, headers=_auth(sandbox), timeout=5).json()
    assert set(latest) >= {"orderId", "merchantOrderId", "merchantId", "state", "amount", "payableAmount", "feeAmount",
                           "expireAt", "metaInfo", "paymentDetails", "errorCode", "detailedErrorCode"}
    assert latest["state"] == "FAILED" and latest["merchantOrderId"] == order_id and latest["amount"] == 10_000
    assert len(latest["paymentDetails"]) == 1 and "errorContext" not in latest
    attempt = latest["paymentDetails"][0]
    assert set(attempt) >= {"transactionId", "paymentMode", "timestamp", "amount", "payableAmount", "feeAmount", "state",
                            "errorCode", "detailedErrorCode", "instrument", "rail", "splitInstruments"}
    assert attempt["rail"]["type"] == "UPI" and {"utr", "upiTransactionId", "vpa"} <= set(attempt["rail"])

    detailed = requests.get(url, params={"details": "true", "errorContext": "true"}, headers=_auth(sandbox), timeout=5).json()
    assert len(detailed["paymentDetails"]) == 2
    assert detailed["errorContext"]["errorCode"] == detailed["errorCode"]

    first = detailed["paymentDetails"][0]["transactionId"]
    one = requests.get(f"{sandbox.url}/checkout/v2/transaction/{first}/status", headers=_auth(sandbox), timeout=5)
    assert one.status_code == 200
    assert [a["transactionId"] for a in one.json()["paymentDetails"]] == [first]
    unknown = requests.get(f"{sandbox.url}/checkout/v2/order/nope-{order_id}/status", headers=_auth(sandbox), timeout=5)
    assert unknown.status_code == 404


def test_a_decided_order_cannot_be_decided_again(sandbox):
    order_id = _unique("ord")
    _pay(sandbox, order_id)
    _outcome(sandbox, order_id, "success")
    again = requests.post(f"{sandbox.url}/_sandbox/orders/{order_id}/outcome", json={"outcome": "failure"}, timeout=5)
    assert again.status_code == 409


# -- v2: refunds -----------------------------------------------------------------------------------


def _refund(sandbox, refund_id: str, order_id: str, amount: int) -> requests.Response:
    return requests.post(f"{sandbox.url}/payments/v2/refund", headers=_auth(sandbox), timeout=5, json={
        "merchantRefundId": refund_id, "originalMerchantOrderId": order_id, "amount": amount})


def _refund_status(sandbox, refund_id: str) -> dict:
    return requests.get(f"{sandbox.url}/payments/v2/refund/{refund_id}/status", headers=_auth(sandbox), timeout=5).json()


def _settle(sandbox, refund_id: str, outcome: str) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/refunds/{refund_id}/outcome", json={"outcome": outcome}, timeout=5)
    assert response.status_code == 200, response.text


def test_refunds_go_pending_confirmed_completed_and_are_capped_at_the_order_amount(sandbox):
    order_id = _unique("ord")
    _pay(sandbox, order_id, amount=10_000)
    unpaid = _refund(sandbox, _unique("rfd"), order_id, 1_000)
    assert unpaid.status_code == 400 and unpaid.json()["code"] == "ORDER_NOT_COMPLETED"
    _outcome(sandbox, order_id, "success")

    first = _unique("rfd")
    response = _refund(sandbox, first, order_id, 6_000)
    assert response.status_code == 200
    assert {"refundId", "amount", "state"} <= set(response.json()) and response.json()["state"] == "PENDING"
    over = _refund(sandbox, _unique("rfd"), order_id, 4_001)
    assert over.status_code == 400 and over.json()["code"] == "REFUND_AMOUNT_EXCEEDED"
    second = _unique("rfd")
    assert _refund(sandbox, second, order_id, 4_000).status_code == 200  # exactly the rest
    assert _refund(sandbox, second, order_id, 100).json()["code"] == "DUPLICATE_MERCHANT_REFUND_ID"

    status = _refund_status(sandbox, first)
    assert set(status) >= {"merchantId", "merchantRefundId", "originalMerchantOrderId", "refundId", "amount", "state",
                           "timestamp", "paymentDetails"}
    assert status["state"] == "PENDING"
    _settle(sandbox, first, "confirmed")
    assert _refund_status(sandbox, first)["state"] == "CONFIRMED"
    _settle(sandbox, first, "completed")
    assert _refund_status(sandbox, first)["state"] == "COMPLETED"

    _settle(sandbox, second, "failed")  # a failed refund gives its amount back to the cap
    assert _refund_status(sandbox, second)["state"] == "FAILED"
    assert _refund(sandbox, _unique("rfd"), order_id, 4_000).status_code == 200
    assert _refund(sandbox, _unique("rfd"), order_id, 100).json()["code"] == "REFUND_AMOUNT_EXCEEDED"


# -- v2: webhooks ----------------------------------------------------------------------------------


def test_v2_webhooks_carry_the_sha256_authorization_and_the_documented_bodies(sandbox, receiver):
    c = sandbox.credentials
    order_id = _unique("ord")
    _pay(sandbox, order_id, amount=2_500)
    _outcome(sandbox, order_id, "attempt_failed")
    _outcome(sandbox, order_id, "success")
    refund_id = _unique("rfd")
    _refund(sandbox, refund_id, order_id, 1_000)
    _settle(sandbox, refund_id, "completed")

    calls = receiver.wait_for(4)
    assert len(calls) == 4
    expected = hashlib.sha256(f"{c.webhook_username}:{c.webhook_password}".encode()).hexdigest()
    assert all(call.headers["authorization"] == expected for call in calls)
    assert all(call.path == "/webhooks/phonepe" for call in calls)
    bodies = [call.json() for call in calls]
    assert [b["event"] for b in bodies] == ["checkout.transaction.attempt.failed", "checkout.order.completed",
                                            "pg.refund.accepted", "pg.refund.completed"]
    assert [b["type"] for b in bodies][:2] == ["CHECKOUT_TRANSACTION_ATTEMPT_FAILED", "CHECKOUT_ORDER_COMPLETED"]
    attempt_failed, completed, accepted, refunded = bodies
    assert attempt_failed["payload"]["state"] == "PENDING"  # the attempt failed, the order is still open
    assert set(completed["payload"]) >= {"merchantId", "merchantOrderId", "orderId", "state", "amount", "expireAt",
                                         "metaInfo", "paymentDetails"}
    assert completed["payload"]["state"] == "COMPLETED" and completed["payload"]["amount"] == 2_500
    assert accepted["payload"]["state"] == "CONFIRMED"
    assert set(refunded["payload"]) >= {"merchantRefundId", "originalMerchantOrderId", "refundId", "state", "amount"}
    assert refunded["payload"]["state"] == "COMPLETED"


# -- v1 ----------------------------------------------------------------------------------------


def test_v1_pay_with_an_exact_checksum_returns_the_pay_page(sandbox):
    transaction_id = _unique("t")[:34]
    response = _v1_pay_and_check(sandbox, transaction_id)
    body = response.json()
    assert body["success"] is True and body["code"] == "PAYMENT_INITIATED"
    info = body["data"]["instrumentResponse"]
    assert info["type"] == "PAY_PAGE" and info["redirectInfo"]["method"] == "GET"
    assert info["redirectInfo"]["url"].startswith(sandbox.url + "/pay/")
    assert body["data"]["merchantTransactionId"] == transaction_id
    # upper-case hex is accepted too (docs show both)
    upper = _v1_post(sandbox, "/pg/v1/pay", _v1_pay_inner(sandbox, _unique("u")[:34]), upper=True)
    assert upper.status_code == 200
    duplicate = _v1_post(sandbox, "/pg/v1/pay", _v1_pay_inner(sandbox, transaction_id))
    assert duplicate.status_code == 400 and duplicate.json()["success"] is False


def _v1_pay_and_check(sandbox, transaction_id: str, callback: str = "") -> requests.Response:
    response = _v1_post(sandbox, "/pg/v1/pay", _v1_pay_inner(sandbox, transaction_id, callback=callback))
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("tamper", ["salt", "path", "index", "body"])
def test_v1_checksum_mismatch_is_authorization_failed(sandbox, tamper):
    inner = _v1_pay_inner(sandbox, _unique("x")[:34])
    if tamper == "salt":
        response = _v1_post(sandbox, "/pg/v1/pay", inner, salt_key="wrong-salt")
    elif tamper == "path":
        response = _v1_post(sandbox, "/pg/v1/pay", inner, hashed_path="/pg/v1/refund")
    elif tamper == "index":
        response = _v1_post(sandbox, "/pg/v1/pay", inner, index="2")
    else:
        payload = base64.b64encode(json.dumps(inner).encode()).decode()
        signed = _x_verify(payload + "/pg/v1/pay", sandbox.credentials.salt_key)
        other = base64.b64encode(json.dumps({**inner, "amount": 1}).encode()).decode()
        response = requests.post(f"{sandbox.url}/pg/v1/pay", json={"request": other}, headers={"X-VERIFY": signed}, timeout=5)
    assert response.status_code == 401
    assert response.json()["success"] is False and response.json()["code"] == "AUTHORIZATION_FAILED"


def test_v1_status_reflects_the_state_and_checks_its_own_checksum(sandbox):
    transaction_id = _unique("s")[:34]
    _v1_pay_and_check(sandbox, transaction_id)
    pending = _v1_status(sandbox, transaction_id).json()
    assert pending["code"] == "PAYMENT_PENDING" and pending["data"]["state"] == "PENDING"
    _outcome(sandbox, transaction_id, "success")
    done = _v1_status(sandbox, transaction_id).json()
    assert done["success"] is True and done["code"] == "PAYMENT_SUCCESS"
    assert set(done["data"]) >= {"merchantId", "merchantTransactionId", "transactionId", "amount", "state",
                                 "responseCode", "paymentInstrument"}
    assert done["data"]["state"] == "COMPLETED" and done["data"]["amount"] == 5_000
    assert _v1_status(sandbox, transaction_id, merchant_header=False).status_code == 400
    c = sandbox.credentials
    forged = requests.get(f"{sandbox.url}/pg/v1/status/{c.merchant_id}/{transaction_id}", timeout=5,
                          headers={"X-VERIFY": _x_verify(f"/pg/v1/status/{c.merchant_id}/other", c.salt_key),
                                   "X-MERCHANT-ID": c.merchant_id})
    assert forged.json()["code"] == "AUTHORIZATION_FAILED"
    assert _v1_status(sandbox, "never-made").json()["code"] == "TRANSACTION_NOT_FOUND"


def test_v1_callback_is_a_base64_response_signed_with_x_verify(sandbox, receiver):
    transaction_id = _unique("c")[:34]
    _v1_pay_and_check(sandbox, transaction_id, callback=f"{receiver.url}/v1-callback")
    _outcome(sandbox, transaction_id, "pending")  # not terminal: no callback
    _outcome(sandbox, transaction_id, "failure")
    calls = receiver.wait_for(1)
    assert len(calls) == 1 and calls[0].path == "/v1-callback"
    document = calls[0].json()
    assert set(document) == {"response"}
    assert calls[0].headers["x-verify"] == _x_verify(document["response"], sandbox.credentials.salt_key)
    decoded = json.loads(base64.b64decode(document["response"]))
    assert decoded["success"] is False and decoded["code"] == "PAYMENT_DECLINED"
    assert decoded["data"]["state"] == "FAILED" and decoded["data"]["merchantTransactionId"] == transaction_id


def test_v1_refund_starts_pending_and_settles_through_status_and_callback(sandbox, receiver):
    transaction_id = _unique("r")[:34]
    _v1_pay_and_check(sandbox, transaction_id)
    _outcome(sandbox, transaction_id, "success")
    refund_id = _unique("rf")[:34]
    response = _v1_post(sandbox, "/pg/v1/refund", {
        "merchantId": sandbox.credentials.merchant_id, "originalTransactionId": transaction_id,
        "merchantTransactionId": refund_id, "amount": 5_000, "callbackUrl": f"{receiver.url}/refund-cb"})
    assert response.status_code == 200
    assert response.json()["code"] == "PAYMENT_PENDING" and response.json()["data"]["state"] == "PENDING"
    over = _v1_post(sandbox, "/pg/v1/refund", {
        "merchantId": sandbox.credentials.merchant_id, "originalTransactionId": transaction_id,
        "merchantTransactionId": _unique("rf")[:34], "amount": 100, "callbackUrl": f"{receiver.url}/refund-cb"})
    assert over.json()["code"] == "REFUND_AMOUNT_EXCEEDED"
    assert _v1_status(sandbox, refund_id).json()["code"] == "PAYMENT_PENDING"
    _settle(sandbox, refund_id, "completed")
    assert _v1_status(sandbox, refund_id).json()["code"] == "PAYMENT_SUCCESS"
    calls = receiver.wait_for(1)
    assert [c.path for c in calls] == ["/refund-cb"]
    assert json.loads(base64.b64decode(calls[0].json()["response"]))["data"]["merchantTransactionId"] == refund_id


# -- scenarios -----------------------------------------------------------------------------------


def _scenario(sandbox, **changes) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/scenarios", json=changes, timeout=5)
    assert response.status_code == 200, response.text


def test_throttling_answers_429_with_retry_after_for_the_next_calls_only(sandbox):
    headers = _auth(sandbox)
    _scenario(sandbox, throttle_next=2)
    first = _pay(sandbox, _unique("th"), headers=headers)
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert first.json()["code"] == "TOO_MANY_REQUESTS"
    v1 = _v1_status(sandbox, "anything")
    assert v1.status_code == 429 and v1.json()["success"] is False
    assert _pay(sandbox, _unique("th"), headers=headers).status_code == 200


def test_status_failures_are_phonepe_errors_or_bare_gateway_errors(sandbox):
    order_id = _unique("sf")
    _pay(sandbox, order_id)
    url = f"{sandbox.url}/checkout/v2/order/{order_id}/status"
    headers = _auth(sandbox)
    _scenario(sandbox, status_failures=1, status_failure_mode="internal_error")
    failed = requests.get(url, headers=headers, timeout=5)
    assert failed.status_code == 500 and failed.json()["code"] == "INTERNAL_SERVER_ERROR"
    _scenario(sandbox, status_failures=1, status_failure_mode="gateway_error")
    gateway = requests.get(url, headers=headers, timeout=5)
    assert gateway.status_code == 502 and gateway.headers["Content-Type"].startswith("text/html")
    assert requests.get(url, headers=headers, timeout=5).status_code == 200

    transaction_id = _unique("sv")[:34]
    _v1_pay_and_check(sandbox, transaction_id)
    _scenario(sandbox, status_failures=1, status_failure_mode="internal_error")
    v1 = _v1_status(sandbox, transaction_id)
    assert v1.status_code == 200 and v1.json()["code"] == "INTERNAL_SERVER_ERROR"  # a 200 with no verdict


def test_pay_timeout_scenario_creates_the_order_before_stalling(sandbox):
    order_id = _unique("slow")
    _scenario(sandbox, pay_timeouts=1, pay_delay_seconds=1.0)
    with pytest.raises(requests.Timeout):
        requests.post(f"{sandbox.url}/checkout/v2/pay", json=_pay_body(order_id), headers=_auth(sandbox), timeout=0.3)
    status = requests.get(f"{sandbox.url}/checkout/v2/order/{order_id}/status", headers=_auth(sandbox), timeout=5)
    assert status.status_code == 200 and status.json()["state"] == "PENDING"


def test_webhooks_can_be_duplicated_dropped_and_delivered_out_of_order(sandbox, receiver):
    _scenario(sandbox, webhook_copies=3)
    duplicated = _unique("dup")
    _pay(sandbox, duplicated)
    _outcome(sandbox, duplicated, "success")
    calls = receiver.wait_for(3)
    assert len(calls) == 3 and len({c.body for c in calls}) == 1

    receiver.clear()
    _scenario(sandbox, webhook_copies=1, drop_webhooks=1)
    dropped = _unique("drop")
    _pay(sandbox, dropped)
    _outcome(sandbox, dropped, "success")
    log = requests.get(f"{sandbox.url}/_sandbox/webhooks", timeout=5).json()["deliveries"]
    assert any(d["label"].endswith(dropped) and d["results"] == [{"outcome": "dropped"}] for d in log)

    _scenario(sandbox, hold_webhooks=True)
    first, second = _unique("one"), _unique("two")
    for order_id in (first, second):
        _pay(sandbox, order_id)
        _outcome(sandbox, order_id, "success")
    released = requests.post(f"{sandbox.url}/_sandbox/webhooks/release", json={"order": "reverse"}, timeout=5)
    assert released.json() == {"released": 2}
    calls = receiver.wait_for(2)
    assert [c.json()["payload"]["merchantOrderId"] for c in calls] == [second, first]


def test_the_pay_page_lets_a_person_choose_and_returns_to_the_merchant(sandbox):
    order_id = _unique("page")
    redirect = _pay(sandbox, order_id).json()["redirectUrl"]
    page = requests.get(redirect, timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    for outcome in ("success", "failure", "pending", "attempt_failed", "expire"):
        assert f'value="{outcome}"' in page.text
    chosen = requests.post(redirect, data={"outcome": "success"}, allow_redirects=False, timeout=5)
    assert chosen.status_code == 303 and chosen.headers["Location"] == "https://shop.example/return"
    status = requests.get(f"{sandbox.url}/checkout/v2/order/{order_id}/status", headers=_auth(sandbox), timeout=5)
    assert status.json()["state"] == "COMPLETED"
