"""PhonePe v1 (PG API, "hermes"): merchant id + salt key + salt index. Requests are base64 JSON
in `{"request": ...}`, signed with X-VERIFY = sha256(<string> + saltKey) + "###" + saltIndex,
where <string> is base64 + API path for pay and refund, and the path alone for status
(docs/providers/phonepe.md, 'v1 requests and checksums'). Decisions rest on the response `code`, not
`success`."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import requests

from bazaar.payments.adapters import phonepe_http as wire
from bazaar.payments.config import PhonePeCredentials, PhonePeSettings
from bazaar.payments.domain import (
    PaymentCreated, PaymentNotFound, PaymentProviderAuthFailed, PaymentProviderRejected, PaymentState,
    PaymentStatus, RefundState, RefundStatus,
)
from bazaar.payments.webhooks import REFUND_CALLBACK_QUERY, V1_FAILURE_CODES
from bazaar.platform.observability import traced_http_session

_PENDING_CODES = frozenset({"PAYMENT_PENDING", "PAYMENT_INITIATED"})
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def x_verify(text: str, salt_key: str, salt_index: str) -> str:
    return hashlib.sha256((text + salt_key).encode()).hexdigest() + "###" + salt_index


class PhonePeV1:
    api_version = "v1"

    def __init__(self, settings: PhonePeSettings, credentials: PhonePeCredentials, session: requests.Session | None = None):
        self._settings = settings
        self._credentials = credentials
        self._session = session or traced_http_session()

    def create_payment(self, merchant_order_id: str, amount_paise: int, redirect_url: str, callback_url: str) -> PaymentCreated:
        _check_id(merchant_order_id)
        wire.check_amount(amount_paise)
        request = {
            "merchantId": self._credentials.merchant_id,
            "merchantTransactionId": merchant_order_id,
            # Required for PAY_PAGE; PhonePe needs no real user id, and ours must not leak there.
            "merchantUserId": f"MU{merchant_order_id[-30:]}",
            "amount": amount_paise,
            "redirectUrl": redirect_url,
            "redirectMode": "REDIRECT",
            "callbackUrl": callback_url,
            "paymentInstrument": {"type": "PAY_PAGE"},
        }
        answer = wire.create(lambda: self._signed_post("/pg/v1/pay", request), "payment")
        if answer is None:
            return wire.recovered_payment(self, merchant_order_id, amount_paise)
        body = answer.body or {}
        if body.get("code") != "PAYMENT_INITIATED":
            raise PaymentProviderRejected(f"PhonePe did not start the payment: {body.get('code')}", provider_code=body.get("code"))
        redirect = (((body.get("data") or {}).get("instrumentResponse") or {}).get("redirectInfo") or {}).get("url")
        return PaymentCreated(merchant_order_id, None, redirect, PaymentState.PENDING)

    def order_status(self, merchant_order_id: str) -> PaymentStatus:
        code, data = self._status(merchant_order_id)
        if code == "INTERNAL_SERVER_ERROR":
            return PaymentStatus(merchant_order_id, PaymentState.PENDING, None, provider_code=code, confirmed=False)
        if code == "PAYMENT_SUCCESS":
            state = PaymentState.COMPLETED
        elif code in V1_FAILURE_CODES:
            state = PaymentState.FAILED
        elif code in _PENDING_CODES:
            state = PaymentState.PENDING
        else:
            raise PaymentProviderRejected(f"PhonePe status said {code}", provider_code=code)
        return PaymentStatus(
            merchant_order_id=data.get("merchantTransactionId", merchant_order_id),
            state=state,
            amount_paise=data.get("amount"),
            transaction_id=data.get("transactionId"),
            provider_code=code,
        )

    def refund(self, merchant_refund_id: str, merchant_order_id: str, amount_paise: int, callback_url: str) -> RefundStatus:
        _check_id(merchant_refund_id)
        wire.check_amount(amount_paise)
        request = {
            "merchantId": self._credentials.merchant_id,
            "merchantTransactionId": merchant_refund_id,
            "originalTransactionId": merchant_order_id,
            "amount": amount_paise,
            # v1 refund callbacks look like payment callbacks; the query tells our webhook which it is.
            "callbackUrl": _with_query(callback_url, *REFUND_CALLBACK_QUERY),
        }
        answer = wire.create(lambda: self._signed_post("/pg/v1/refund", request), "refund")
        if answer is None:
            status = wire.settled_by_status(self.refund_status, merchant_refund_id, "refund")
            if status.amount_paise != amount_paise:
                raise PaymentProviderRejected(f"refund {merchant_refund_id} exists with another amount")
            return status
        body = answer.body or {}
        data = body.get("data") or {}
        return RefundStatus(merchant_refund_id, _refund_state(body.get("code")), data.get("amount", amount_paise),
                            provider_refund_id=data.get("transactionId"), merchant_order_id=merchant_order_id,
                            provider_code=body.get("code"))

    def refund_status(self, merchant_refund_id: str) -> RefundStatus:
        # Refunds are looked up through the payment status API with the refund's own id (implied
        # by the docs, UNCONFIRMED).
        code, data = self._status(merchant_refund_id)
        if code == "INTERNAL_SERVER_ERROR":
            return RefundStatus(merchant_refund_id, RefundState.PENDING, None, provider_code=code, confirmed=False)
        return RefundStatus(merchant_refund_id, _refund_state(code), data.get("amount"),
                            provider_refund_id=data.get("transactionId"), provider_code=code)

    # -- wire -------------------------------------------------------------------------------

    def _signed_post(self, path: str, request: dict) -> wire.Answer:
        payload = base64.b64encode(json.dumps(request, separators=(",", ":")).encode()).decode()
        c = self._credentials
        answer = wire.send(
            self._session, "POST", f"{self._settings.base_url}{path}", self._settings.timeout_seconds,
            json={"request": payload},
            headers={"Content-Type": "application/json", "X-VERIFY": x_verify(payload + path, c.salt_key, c.salt_index)},
        )
        _refuse_bad_credentials(answer)
        return answer

    def _status(self, merchant_transaction_id: str) -> tuple[str, dict]:
        _check_id(merchant_transaction_id)
        c = self._credentials
        path = f"/pg/v1/status/{quote(c.merchant_id)}/{quote(merchant_transaction_id)}"
        headers = {"Content-Type": "application/json", "X-VERIFY": x_verify(path, c.salt_key, c.salt_index),
                   "X-MERCHANT-ID": c.merchant_id}
        answer = wire.read(lambda: wire.send(self._session, "GET", f"{self._settings.base_url}{path}",
                                             self._settings.timeout_seconds, headers=headers), "status")
        _refuse_bad_credentials(answer)
        code = answer.code or ""
        if code == "TRANSACTION_NOT_FOUND":
            raise PaymentNotFound(f"PhonePe knows no transaction {merchant_transaction_id}")
        if not code:
            raise PaymentProviderRejected(f"PhonePe status answered HTTP {answer.status} without a code",
                                          http_status=answer.status)
        return code, (answer.body or {}).get("data") or {}


def _refuse_bad_credentials(answer: wire.Answer) -> None:
    if answer.code in ("AUTHORIZATION_FAILED", "KEY_NOT_CONFIGURED"):
        raise PaymentProviderAuthFailed(f"PhonePe refused our checksum: {answer.code}", provider_code=answer.code,
                                        http_status=answer.status)


def _refund_state(code: str | None) -> RefundState:
    if code == "PAYMENT_SUCCESS":
        return RefundState.COMPLETED
    if code in V1_FAILURE_CODES:
        return RefundState.FAILED
    if code in _PENDING_CODES:
        return RefundState.PENDING
    raise PaymentProviderRejected(f"PhonePe refund answered {code}", provider_code=code)


def _with_query(url: str, key: str, value: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode({key: value})}" if parts.query else urlencode({key: value})
    return urlunsplit(parts._replace(query=query))


def _check_id(value: str) -> None:
    if not 1 <= len(value) <= 34 or not set(value) <= _ID_CHARS:
        raise ValueError(f"PhonePe v1 transaction ids are under 35 characters of A-Z a-z 0-9 _ -, not {value!r}")
