"""PhonePe v2 (Standard Checkout) over plain HTTP: an OAuth client-credentials token, then six
small JSON endpoints (docs/providers/phonepe.md, 'v2 Standard Checkout'). Not the official SDK: it starts
threads, posts telemetry and pins old urllib3/requests (same page, 'Why not the official SDK'); this is
~200 lines instead."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

import requests

from bazaar.payments.adapters import phonepe_http as wire
from bazaar.payments.config import PhonePeCredentials, PhonePeSettings
from bazaar.payments.domain import (
    PaymentCreated, PaymentNotFound, PaymentProviderAuthFailed, PaymentProviderRejected,
    PaymentProviderUnavailable, PaymentState, PaymentStatus, RefundState, RefundStatus,
)
from bazaar.platform.observability import traced_http_session

# Order ids PhonePe accepts (max 63 of [A-Za-z0-9_-]); checked here so a bad id fails before a call.
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class _Token:
    value: str
    token_type: str
    issued_at: int
    expires_at: int

    @property
    def refresh_at(self) -> float:
        # As the SDK does: renew at half-life, long before PhonePe would refuse it.
        return self.issued_at + (self.expires_at - self.issued_at) / 2

    @property
    def header(self) -> str:
        # Echo token_type ("O-Bearer" per the docs; whether it is always that is UNCONFIRMED).
        return f"{self.token_type} {self.value}"


class OAuthTokens:
    """The client-credentials token, fetched on first use, renewed at half-life and after a 401.
    One per process (module scope in a Lambda), so warm invocations reuse it."""

    def __init__(self, settings: PhonePeSettings, credentials: PhonePeCredentials, session: requests.Session):
        self._settings, self._credentials, self._session = settings, credentials, session
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def header(self, *, renew: bool = False) -> str:
        with self._lock:
            token = self._token
            if renew or token is None or time.time() >= token.refresh_at:
                token = self._fetch(fallback=None if renew else token)
            return token.header

    def _fetch(self, fallback: _Token | None) -> _Token:
        c = self._credentials
        form = {"client_id": c.client_id, "client_secret": c.client_secret,
                "client_version": c.client_version, "grant_type": "client_credentials"}
        try:
            answer = wire.read(lambda: wire.send(
                self._session, "POST", f"{self._settings.oauth_base_url}/v1/oauth/token", self._settings.timeout_seconds,
                data=form, headers={"Content-Type": "application/x-www-form-urlencoded"},
            ), "token")
        except PaymentProviderUnavailable:
            # Past half-life but not expired: the old token still works while PhonePe recovers.
            if fallback is not None and time.time() < fallback.expires_at:
                return fallback
            raise
        body = answer.body or {}
        if answer.status != 200:
            raise PaymentProviderAuthFailed("PhonePe refused the client credentials",
                                            provider_code=answer.code, http_status=answer.status)
        try:
            token = _Token(str(body["access_token"]), str(body["token_type"]), int(body["issued_at"]),
                           int(body["expires_at"]))
        except (KeyError, TypeError, ValueError):
            raise PaymentProviderUnavailable("PhonePe's token answer is missing fields") from None
        self._token = token
        self.fetches += 1
        return token


class PhonePeV2:
    api_version = "v2"

    def __init__(self, settings: PhonePeSettings, credentials: PhonePeCredentials, session: requests.Session | None = None):
        self._settings = settings
        self._credentials = credentials
        self._session = session or traced_http_session()
        self.tokens = OAuthTokens(settings, credentials, self._session)

    # -- payments ---------------------------------------------------------------------------

    def create_payment(self, merchant_order_id: str, amount_paise: int, redirect_url: str, callback_url: str) -> PaymentCreated:
        # callback_url is not part of a v2 request: webhooks go to the URL set on the dashboard.
        _check_id(merchant_order_id)
        wire.check_amount(amount_paise)
        body = {
            "merchantOrderId": merchant_order_id,
            "amount": amount_paise,
            "paymentFlow": {"type": "PG_CHECKOUT", "merchantUrls": {"redirectUrl": redirect_url}},
        }
        answer = wire.create(lambda: self._call("POST", "/checkout/v2/pay", json=body), "payment")
        if answer is not None:
            data = answer.body or {}
            return PaymentCreated(merchant_order_id, data.get("orderId"), data.get("redirectUrl"),
                                  PaymentState(data.get("state", "PENDING")))
        return wire.recovered_payment(self, merchant_order_id, amount_paise)

    def order_status(self, merchant_order_id: str) -> PaymentStatus:
        _check_id(merchant_order_id)
        path = f"/checkout/v2/order/{quote(merchant_order_id)}/status"
        answer = wire.read(lambda: self._call("GET", path, params={"details": "false", "errorContext": "false"}),
                           "order status")
        if answer.code == "INTERNAL_SERVER_ERROR":
            return PaymentStatus(merchant_order_id, PaymentState.PENDING, None, provider_code=answer.code, confirmed=False)
        if answer.status == 404:
            raise PaymentNotFound(f"PhonePe knows no order {merchant_order_id}")
        body = self._ok(answer, "order status")
        attempts = body.get("paymentDetails") or []
        return PaymentStatus(
            merchant_order_id=body.get("merchantOrderId", merchant_order_id),
            state=PaymentState(body["state"]),
            amount_paise=body.get("amount"),
            provider_order_id=body.get("orderId"),
            transaction_id=attempts[-1].get("transactionId") if attempts else None,
            provider_code=body.get("errorCode"),
        )

    # -- refunds ----------------------------------------------------------------------------

    def refund(self, merchant_refund_id: str, merchant_order_id: str, amount_paise: int, callback_url: str) -> RefundStatus:
        _check_id(merchant_refund_id)
        wire.check_amount(amount_paise)
        body = {"merchantRefundId": merchant_refund_id, "originalMerchantOrderId": merchant_order_id, "amount": amount_paise}
        answer = wire.create(lambda: self._call("POST", "/payments/v2/refund", json=body), "refund")
        if answer is None:
            status = wire.settled_by_status(self.refund_status, merchant_refund_id, "refund")
            if status.amount_paise != amount_paise:
                raise PaymentProviderRejected(f"refund {merchant_refund_id} exists with another amount")
            return status
        data = answer.body or {}
        return RefundStatus(merchant_refund_id, RefundState(data.get("state", "PENDING")), data.get("amount"),
                            provider_refund_id=data.get("refundId"), merchant_order_id=merchant_order_id)

    def refund_status(self, merchant_refund_id: str) -> RefundStatus:
        _check_id(merchant_refund_id)
        answer = wire.read(lambda: self._call("GET", f"/payments/v2/refund/{quote(merchant_refund_id)}/status"),
                           "refund status")
        if answer.code == "INTERNAL_SERVER_ERROR":
            return RefundStatus(merchant_refund_id, RefundState.PENDING, None, provider_code=answer.code, confirmed=False)
        if answer.status == 404:
            raise PaymentNotFound(f"PhonePe knows no refund {merchant_refund_id}")
        body = self._ok(answer, "refund status")
        return RefundStatus(
            merchant_refund_id=body.get("merchantRefundId", merchant_refund_id),
            state=RefundState(body["state"]),
            amount_paise=body.get("amount"),
            provider_refund_id=body.get("refundId"),
            merchant_order_id=body.get("originalMerchantOrderId"),
            provider_code=body.get("errorCode"),
        )

    # -- wire -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs) -> wire.Answer:
        """One PG call with the current token; a 401 renews the token and tries once more (a
        401 means PhonePe did not act on the request, so the repeat is safe)."""
        url = f"{self._settings.base_url}{path}"
        for renew in (False, True):
            headers = {"Content-Type": "application/json", "Authorization": self.tokens.header(renew=renew),
                       "X-MERCHANT-ID": self._credentials.merchant_id}
            answer = wire.send(self._session, method, url, self._settings.timeout_seconds, headers=headers, **kwargs)
            if answer.status != 401:
                return answer
        raise PaymentProviderAuthFailed("PhonePe refused a freshly issued token", provider_code=answer.code, http_status=401)

    @staticmethod
    def _ok(answer: wire.Answer, what: str) -> dict:
        if answer.status != 200 or not answer.body or "state" not in answer.body:
            raise PaymentProviderRejected(f"PhonePe {what} failed: {answer.message}",
                                          provider_code=answer.code, http_status=answer.status)
        return answer.body


def _check_id(value: str) -> None:
    if not 1 <= len(value) <= 63 or not set(value) <= _ID_CHARS:
        raise ValueError(f"PhonePe ids are 1-63 characters of A-Z a-z 0-9 _ -, not {value!r}")
