"""The PhonePe sandbox's HTTP surface (127.0.0.1, its own port): both API generations with their
real wire protocol, a pay page for people, and a JSON control API for tests under /_sandbox/.

v2 (Standard Checkout, OAuth):
    POST /v1/oauth/token                                  form: client_id, client_secret, client_version, grant_type
    POST /checkout/v2/pay                                 Authorization: O-Bearer <token>
    GET  /checkout/v2/order/{merchantOrderId}/status?details=&errorContext=
    GET  /checkout/v2/transaction/{transactionId}/status
    POST /payments/v2/refund
    GET  /payments/v2/refund/{merchantRefundId}/status
v1 (PG API, X-VERIFY):
    POST /pg/v1/pay        {"request": base64}            X-VERIFY sha256(b64 + path + saltKey)###idx
    GET  /pg/v1/status/{merchantId}/{merchantTransactionId}  X-VERIFY sha256(path + saltKey)###idx, X-MERCHANT-ID
    POST /pg/v1/refund     {"request": base64}
People:  GET /pay/{orderId} (pick success / failure / pending / attempt failed / expire)

Control API (all JSON; docs/providers/phonepe.md has the scenarios):
  GET  /_sandbox                             merchant, webhook URL, token lifetime, scenarios, counts, and
                                              this list of controls
  POST /_sandbox/scenarios                   {throttle_next?, retry_after_seconds?, status_failures?,
                                              status_failure_mode?, pay_timeouts?, pay_delay_seconds?,
                                              webhook_copies?, webhook_delay_seconds?, drop_webhooks?,
                                              hold_webhooks?}: switches the next calls follow (counters count
                                              down per call)
  POST /_sandbox/config                      {token_ttl_seconds?, webhook_url?}
  POST /_sandbox/reset                       {keep_orders?}: forget orders, refunds, tokens and scenarios
  POST /_sandbox/tokens/expire               every token issued so far is expired now
  GET  /_sandbox/orders/{orderId}            one order: API generation, state, amount, attempts, pay page URL,
                                              its refunds (merchantRefundId, amount, state)
  POST /_sandbox/orders/{orderId}/outcome    {outcome: "success"|"failure"|"pending"|"attempt_failed"|"expire"}:
                                              as the shopper on the pay page
  POST /_sandbox/refunds/{refundId}/outcome  {outcome}: settle a refund that way
  GET  /_sandbox/webhooks                    webhook deliveries (every attempt) and how many are held
  POST /_sandbox/webhooks/release            {order?: "fifo"|"reverse"}: deliver held webhooks

Choices where PhonePe's behaviour is UNCONFIRMED (docs/providers/phonepe.md), each written down here once:
- duplicate merchantOrderId on v2 pay: 400 {"code": "DUPLICATE_MERCHANT_ORDER_ID"}; v1: 400
  {"success": false, "code": "DUPLICATE_TRANSACTION"}; a reused refund id: DUPLICATE_MERCHANT_REFUND_ID.
- refund over the refundable rest: 400 REFUND_AMOUNT_EXCEEDED; refund of an unpaid order: 400
  ORDER_NOT_COMPLETED.
- auth errors (v2): 401 {"errorCode": ..., "context": {...}} with INVALID_TOKEN, TOKEN_EXPIRED,
  AUTHORIZATION_MISSING; bad client credentials: 401 INVALID_CLIENT.
- v1 checksum mismatch: HTTP 401 {"success": false, "code": "AUTHORIZATION_FAILED"}; unknown
  transaction: HTTP 404 TRANSACTION_NOT_FOUND.
- 429: v2 {"code": "TOO_MANY_REQUESTS"}, v1 {"success": false, "code": "TOO_MANY_REQUESTS"},
  with Retry-After (1 s unless a test sets retry_after_seconds).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, TypeGuard
from urllib.parse import parse_qs, urlsplit

from infra.local.loopback import LoopbackServer
from infra.sandboxes.common import controls_of, json_object
from infra.sandboxes.phonepe import shapes
from infra.sandboxes.phonepe.delivery import Deliverer, Webhook
from infra.sandboxes.phonepe.state import (
    DEFAULT_EXPIRE_AFTER_SECONDS, EXPIRE_AFTER_RANGE, Credentials, Order, Refund, SandboxState, now_ms,
)

MERCHANT_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
V1_TRANSACTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,34}$")  # "under 35 chars"
V1_INSTRUMENTS = {"PAY_PAGE", "UPI_INTENT", "UPI_COLLECT", "UPI_QR", "CARD", "SAVED_CARD", "TOKEN", "NET_BANKING"}
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Reply:
    status: int
    body: Any = None  # dict -> JSON, str -> HTML, None -> empty
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, body: Any, *headers: tuple[str, str]) -> Reply:
        return cls(status, body, headers)


class Stall(Exception):
    """Answer after `seconds` (the pay-create timeout scenario); the work is already done."""

    def __init__(self, reply: Reply, seconds: float):
        self.reply, self.seconds = reply, seconds


def _v2_error(status: int, code: str, message: str, data: dict | None = None) -> Reply:
    return Reply.json(status, {"code": code, "message": message, "data": data or {}})


def _v2_auth_error(code: str, message: str) -> Reply:
    return Reply.json(401, {"errorCode": code, "context": {"message": message}})


def _v1_error(status: int, code: str, message: str) -> Reply:
    return Reply.json(status, {"success": False, "code": code, "message": message, "data": {}})


class PhonePeSandbox:
    """Start it, give the app its URL, stop it. Thread-safe; one merchant."""

    name = "phonepe"

    def __init__(self, credentials: Credentials, *, port: int = 0, token_ttl_seconds: int = 300,
                 webhook_url: str | None = None, log: Callable[[dict], None] | None = None):
        self.state = SandboxState(credentials, token_ttl_seconds)
        self.webhook_url = webhook_url  # v2: what a merchant sets on PhonePe's dashboard
        self.deliverer = Deliverer(self.state)
        self.log = log or (lambda entry: None)
        self._server = LoopbackServer(_handler_class(self), port=port, name="phonepe-sandbox", backlog=256)
        self.port = self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def settings(self) -> dict[str, str]:
        """The app settings that point a PhonePe client here (both API hosts are this one)."""
        # v1 payments name their callback URL: the local twin's webhook, when it has one.
        callback = {"PHONEPE_CALLBACK_URL": self.webhook_url} if self.webhook_url else {}
        return {"PHONEPE_BASE_URL": self.url, "PHONEPE_OAUTH_BASE_URL": self.url, **callback}

    @property
    def credentials(self) -> Credentials:
        return self.state.credentials

    def start(self) -> PhonePeSandbox:
        self._server.start()
        return self

    def stop(self) -> None:
        """Idempotent, and safe before start()."""
        self._server.stop()
        self.deliverer.stop()

    def __enter__(self) -> PhonePeSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path.startswith("/_sandbox"):
            return self._control(method, path, body)
        if path.startswith("/pay/"):
            return self._pay_page(method, path, body)
        for route_method, pattern, handler, api in self._routes:
            found = pattern.fullmatch(path)
            if found and method == route_method:
                self.state.count(f"{method} {pattern.pattern}")
                if self.state.take("throttle_next"):
                    error = _v1_error if api == "v1" else _v2_error
                    retry_after = str(self.state.scenarios.retry_after_seconds)
                    return Reply(429, error(429, "TOO_MANY_REQUESTS", "Too many requests").body, (("Retry-After", retry_after),))
                return handler(self, found, query, headers, body)
        return _v2_error(404, "NOT_FOUND", f"No API at {method} {path}")

    # -- v2 -------------------------------------------------------------------------------

    def _token(self, found, query, headers, body) -> Reply:
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Reply.json(400, {"errorCode": "BAD_REQUEST", "context": {"message": "form-encoded body required"}})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        missing = [f for f in ("client_id", "client_secret", "client_version", "grant_type") if not form.get(f)]
        if missing or form["grant_type"] != "client_credentials":
            return Reply.json(400, {"errorCode": "BAD_REQUEST",
                                    "context": {"message": "grant_type=client_credentials and client fields required",
                                                "missing": missing}})
        c = self.credentials
        if (form["client_id"], form["client_secret"], form["client_version"]) != (c.client_id, c.client_secret, c.client_version):
            return _v2_auth_error("INVALID_CLIENT", "client_id, client_secret or client_version is wrong")
        return Reply.json(200, self.state.issue_token())

    def _authorized(self, headers: dict[str, str]) -> Reply | None:
        value = headers.get("authorization", "")
        if not value:
            return _v2_auth_error("AUTHORIZATION_MISSING", "Authorization header is missing")
        token_type, _, token = value.partition(" ")
        if token_type != "O-Bearer" or not token:
            return _v2_auth_error("INVALID_TOKEN", "Authorization must be '<token_type> <access_token>'")
        problem = self.state.token_problem(token)
        if problem:
            return _v2_auth_error(problem, "The access token is expired" if problem == "TOKEN_EXPIRED" else "Unknown access token")
        return None

    def _v2_pay(self, found, query, headers, body) -> Reply:
        refusal = self._authorized(headers)
        if refusal:
            return refusal
        payload, problem = _json_object(body)
        if problem:
            return _v2_error(400, "BAD_REQUEST", problem)
        merchant_order_id = payload.get("merchantOrderId")
        amount = payload.get("amount")
        flow = payload.get("paymentFlow") or {}
        redirect_url = ((flow.get("merchantUrls") or {}) if isinstance(flow, dict) else {}).get("redirectUrl")
        expire_after = payload.get("expireAfter")
        if not isinstance(merchant_order_id, str) or not MERCHANT_ORDER_ID.match(merchant_order_id):
            return _v2_error(400, "BAD_REQUEST", "merchantOrderId must be 1-63 characters of A-Z a-z 0-9 _ -",
                             {"field": "merchantOrderId"})
        if not _is_amount(amount):
            return _v2_error(400, "BAD_REQUEST", "amount must be an integer number of paise, at least 100", {"field": "amount"})
        if not isinstance(flow, dict) or flow.get("type") != "PG_CHECKOUT":
            return _v2_error(400, "BAD_REQUEST", "paymentFlow.type must be PG_CHECKOUT", {"field": "paymentFlow.type"})
        if not isinstance(redirect_url, str) or not redirect_url.startswith(("http://", "https://")):
            return _v2_error(400, "BAD_REQUEST", "paymentFlow.merchantUrls.redirectUrl is required",
                             {"field": "paymentFlow.merchantUrls.redirectUrl"})
        if expire_after is not None and (not isinstance(expire_after, int) or not EXPIRE_AFTER_RANGE[0] <= expire_after <= EXPIRE_AFTER_RANGE[1]):
            return _v2_error(400, "BAD_REQUEST", f"expireAfter must be {EXPIRE_AFTER_RANGE[0]}-{EXPIRE_AFTER_RANGE[1]} seconds",
                             {"field": "expireAfter"})
        order = Order(
            api="v2", merchant_order_id=merchant_order_id, order_id=self.state.new_order_id(), amount=amount,
            expire_at=now_ms() + 1000 * (expire_after or DEFAULT_EXPIRE_AFTER_SECONDS), redirect_url=redirect_url,
            meta_info=payload.get("metaInfo"),
        )
        if not self.state.add_order(order):
            return _v2_error(400, "DUPLICATE_MERCHANT_ORDER_ID",
                             f"An order with merchantOrderId {merchant_order_id} already exists")
        reply = Reply.json(200, {"orderId": order.order_id, "state": order.state, "expireAt": order.expire_at,
                                 "redirectUrl": f"{self.url}/pay/{order.order_id}"})
        return self._maybe_stall(reply)

    def _v2_order_status(self, found, query, headers, body) -> Reply:
        refusal = self._authorized(headers) or self._status_failure("v2")
        if refusal:
            return refusal
        order = self.state.order(found["merchant_order_id"])
        if order is None or order.api != "v2":
            return _v2_error(404, "ORDER_NOT_FOUND", "No order with this merchantOrderId")
        self._expire(order)
        return Reply.json(200, shapes.v2_order_status(
            order, self.credentials.merchant_id, details=_flag(query, "details"), error_context=_flag(query, "errorContext"),
        ))

    def _v2_transaction_status(self, found, query, headers, body) -> Reply:
        refusal = self._authorized(headers) or self._status_failure("v2")
        if refusal:
            return refusal
        match = self.state.attempt(found["transaction_id"])
        if match is None:
            return _v2_error(404, "TRANSACTION_NOT_FOUND", "No transaction with this id")
        order, attempt = match
        return Reply.json(200, shapes.v2_order_status(order, self.credentials.merchant_id, details=False,
                                                      error_context=False, only=attempt))

    def _v2_refund(self, found, query, headers, body) -> Reply:
        refusal = self._authorized(headers)
        if refusal:
            return refusal
        payload, problem = _json_object(body)
        if problem:
            return _v2_error(400, "BAD_REQUEST", problem)
        refund_id, original, amount = payload.get("merchantRefundId"), payload.get("originalMerchantOrderId"), payload.get("amount")
        if not isinstance(refund_id, str) or not MERCHANT_ORDER_ID.match(refund_id):
            return _v2_error(400, "BAD_REQUEST", "merchantRefundId must be 1-63 characters of A-Z a-z 0-9 _ -")
        if not _is_amount(amount):
            return _v2_error(400, "BAD_REQUEST", "amount must be an integer number of paise, at least 100")
        order = self.state.order(original) if isinstance(original, str) else None
        if order is None or order.api != "v2":
            return _v2_error(404, "ORDER_NOT_FOUND", "No order with this originalMerchantOrderId")
        assert isinstance(original, str)  # the order was found by it
        refund = Refund("v2", refund_id, self.state.new_refund_id(), original, amount)
        problem = self.state.add_refund(refund, order)
        if problem:
            return _v2_error(400, problem, _REFUND_PROBLEMS[problem], {"refundable": self.state.refundable(order)})
        return Reply.json(200, {"refundId": refund.refund_id, "amount": refund.amount, "state": refund.state, "currency": "INR"})

    def _v2_refund_status(self, found, query, headers, body) -> Reply:
        refusal = self._authorized(headers) or self._status_failure("v2")
        if refusal:
            return refusal
        refund = self.state.refund(found["merchant_refund_id"])
        if refund is None or refund.api != "v2":
            return _v2_error(404, "REFUND_NOT_FOUND", "No refund with this merchantRefundId")
        return Reply.json(200, shapes.v2_refund_status(refund, self.credentials.merchant_id))

    # -- v1 -------------------------------------------------------------------------------

    def _v1_envelope(self, api_path: str, headers: dict[str, str], body: bytes) -> tuple[dict | None, Reply | None]:
        """Checks X-VERIFY over the base64 `request` exactly as sent, then decodes it."""
        payload, problem = _json_object(body)
        if problem or not isinstance(payload.get("request"), str):
            return None, _v1_error(400, "BAD_REQUEST", problem or "body must be {\"request\": \"<base64>\"}")
        c = self.credentials
        if not shapes.x_verify_matches(headers.get("x-verify"), payload["request"] + api_path, c.salt_key, c.salt_index):
            return None, _v1_error(401, "AUTHORIZATION_FAILED", "X-VERIFY does not match the payload")
        try:
            inner = json.loads(base64.b64decode(payload["request"], validate=True))
        except (binascii.Error, ValueError):
            return None, _v1_error(400, "BAD_REQUEST", "request is not base64 of a JSON object")
        if not isinstance(inner, dict):
            return None, _v1_error(400, "BAD_REQUEST", "request is not base64 of a JSON object")
        if inner.get("merchantId") != c.merchant_id:
            return None, _v1_error(400, "KEY_NOT_CONFIGURED", "Unknown merchantId")
        return inner, None

    def _v1_pay(self, found, query, headers, body) -> Reply:
        inner, refusal = self._v1_envelope("/pg/v1/pay", headers, body)
        if refusal:
            return refusal
        assert inner is not None  # no refusal: the request decoded
        transaction_id, amount = inner.get("merchantTransactionId"), inner.get("amount")
        instrument = (inner.get("paymentInstrument") or {}).get("type") if isinstance(inner.get("paymentInstrument"), dict) else None
        user = inner.get("merchantUserId")
        if not isinstance(transaction_id, str) or not V1_TRANSACTION_ID.match(transaction_id):
            return _v1_error(400, "BAD_REQUEST", "merchantTransactionId must be under 35 characters of A-Z a-z 0-9 _ -")
        if not _is_amount(amount):
            return _v1_error(400, "BAD_REQUEST", "amount must be an integer number of paise, at least 100")
        if instrument not in V1_INSTRUMENTS:
            return _v1_error(400, "BAD_REQUEST", "paymentInstrument.type is missing or unknown")
        if instrument in ("PAY_PAGE", "CARD", "SAVED_CARD") and not (isinstance(user, str) and 0 < len(user) < 36):
            return _v1_error(400, "BAD_REQUEST", "merchantUserId (under 36 characters) is required for this instrument")
        for name in ("redirectUrl", "callbackUrl"):
            if not isinstance(inner.get(name), str) or not inner[name].startswith(("http://", "https://")):
                return _v1_error(400, "BAD_REQUEST", f"{name} is required")
        mode = inner.get("redirectMode", "REDIRECT")
        if mode not in ("REDIRECT", "POST", "GET"):
            return _v1_error(400, "BAD_REQUEST", "redirectMode must be REDIRECT or POST")
        order = Order(
            api="v1", merchant_order_id=transaction_id, order_id=self.state.new_order_id(), amount=amount,
            expire_at=now_ms() + 1000 * DEFAULT_EXPIRE_AFTER_SECONDS, redirect_url=inner["redirectUrl"],
            redirect_mode=mode, callback_url=inner["callbackUrl"], merchant_user_id=user,
        )
        if not self.state.add_order(order):
            return _v1_error(400, "DUPLICATE_TRANSACTION", f"merchantTransactionId {transaction_id} was used before")
        reply = Reply.json(200, {
            "success": True, "code": "PAYMENT_INITIATED", "message": "Payment initiated",
            "data": {"merchantId": self.credentials.merchant_id, "merchantTransactionId": transaction_id,
                     "instrumentResponse": {"type": "PAY_PAGE",
                                            "redirectInfo": {"url": f"{self.url}/pay/{order.order_id}", "method": "GET"}}},
        })
        return self._maybe_stall(reply)

    def _v1_status(self, found, query, headers, body) -> Reply:
        c = self.credentials
        path = f"/pg/v1/status/{found['merchant_id']}/{found['transaction_id']}"
        if not shapes.x_verify_matches(headers.get("x-verify"), path, c.salt_key, c.salt_index):
            return _v1_error(401, "AUTHORIZATION_FAILED", "X-VERIFY does not match the path")
        if found["merchant_id"] != c.merchant_id or headers.get("x-merchant-id") != c.merchant_id:
            return _v1_error(400, "BAD_REQUEST", "merchantId in the path and X-MERCHANT-ID must be the merchant's")
        failure = self._status_failure("v1")
        if failure:
            return failure
        order = self.state.order(found["transaction_id"])
        if order is not None and order.api == "v1":
            self._expire(order)
            return Reply.json(200, shapes.v1_order_status(order, c.merchant_id))
        refund = self.state.refund(found["transaction_id"])
        if refund is not None and refund.api == "v1":
            return Reply.json(200, shapes.v1_refund_status(refund, c.merchant_id))
        return _v1_error(404, "TRANSACTION_NOT_FOUND", "No transaction with this merchantTransactionId")

    def _v1_refund(self, found, query, headers, body) -> Reply:
        inner, refusal = self._v1_envelope("/pg/v1/refund", headers, body)
        if refusal:
            return refusal
        assert inner is not None  # no refusal: the request decoded
        refund_id, original, amount = inner.get("merchantTransactionId"), inner.get("originalTransactionId"), inner.get("amount")
        if not isinstance(refund_id, str) or not V1_TRANSACTION_ID.match(refund_id):
            return _v1_error(400, "BAD_REQUEST", "merchantTransactionId must be under 35 characters of A-Z a-z 0-9 _ -")
        if not _is_amount(amount):
            return _v1_error(400, "BAD_REQUEST", "amount must be an integer number of paise, at least 100")
        order = self.state.order(original) if isinstance(original, str) else None
        if order is None or order.api != "v1":
            return _v1_error(404, "TRANSACTION_NOT_FOUND", "No transaction with this originalTransactionId")
        assert isinstance(original, str)  # the order was found by it
        refund = Refund("v1", refund_id, self.state.new_refund_id(), original, amount, callback_url=inner.get("callbackUrl"))
        problem = self.state.add_refund(refund, order)
        if problem:
            return _v1_error(400, problem, _REFUND_PROBLEMS[problem])
        return Reply.json(200, {
            "success": True, "code": "PAYMENT_PENDING", "message": "Your request is in pending state.",
            "data": {"merchantId": self.credentials.merchant_id, "merchantTransactionId": refund_id,
                     "transactionId": refund.refund_id, "amount": amount, "state": "PENDING", "responseCode": "PENDING"},
        })

    # -- scenarios shared by both generations ---------------------------------------------

    def _status_failure(self, api: str) -> Reply | None:
        if not self.state.take("status_failures"):
            return None
        with self.state.lock:
            mode = self.state.scenarios.status_failure_mode
        if mode == "gateway_error":
            return Reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
        if api == "v1":
            # A 200 whose code is no verdict: the transaction is neither paid nor failed.
            return _v1_error(200, "INTERNAL_SERVER_ERROR", "Something went wrong; please retry")
        return _v2_error(500, "INTERNAL_SERVER_ERROR", "Something went wrong; please retry")

    def _maybe_stall(self, reply: Reply) -> Reply:
        if self.state.take("pay_timeouts"):
            with self.state.lock:
                seconds = self.state.scenarios.pay_delay_seconds
            raise Stall(reply, seconds)
        return reply

    def _expire(self, order: Order) -> None:
        if self.state.expire_if_due(order):
            self._announce_order(order, ["order.failed"])

    # -- outcomes and webhooks ------------------------------------------------------------

    def decide(self, merchant_order_id: str, outcome: str) -> Order:
        order = self.state.order(merchant_order_id)
        if order is None:
            raise LookupError(merchant_order_id)
        self._announce_order(order, self.state.apply_outcome(order, outcome))
        return order

    def settle(self, merchant_refund_id: str, outcome: str) -> Refund:
        refund = self.state.refund(merchant_refund_id)
        if refund is None:
            raise LookupError(merchant_refund_id)
        # One step at a time, so each webhook carries the state of its own step.
        steps = ["confirmed", outcome] if outcome == "completed" and refund.state == "PENDING" else [outcome]
        for step in steps:
            for event in self.state.settle_refund(refund, step):
                self._announce_refund(refund, event)
        return refund

    def _announce_order(self, order: Order, events: list[str]) -> None:
        for event in events:
            if order.api == "v2":
                self._send_v2(event, order, order.merchant_order_id)
            elif order.terminal:  # v1 calls back only when a transaction reaches a terminal state
                self._send_v1(shapes.v1_order_status(order, self.credentials.merchant_id), order.callback_url,
                              f"v1 {order.state} {order.merchant_order_id}")

    def _announce_refund(self, refund: Refund, event: str) -> None:
        if refund.api == "v2":
            self._send_v2(event, refund, refund.merchant_refund_id)
        elif refund.terminal:
            self._send_v1(shapes.v1_refund_status(refund, self.credentials.merchant_id),
                          refund.callback_url, f"v1 refund {refund.state} {refund.merchant_refund_id}")

    def _send_v2(self, event: str, subject, subject_id: str) -> None:
        body = shapes.v2_webhook_body(event, subject, self.credentials.merchant_id)
        if not self.webhook_url:
            self.log({"phonepe_sandbox": "no webhook_url configured; v2 webhook not sent", "event": body["event"]})
            return
        c = self.credentials
        authorization = hashlib.sha256(f"{c.webhook_username}:{c.webhook_password}".encode()).hexdigest()
        self.deliverer.send(Webhook(
            url=self.webhook_url,
            headers={"Content-Type": "application/json", "Authorization": authorization},
            body=json.dumps(body).encode(),
            label=f"v2 {body['event']} {subject_id}",
        ))

    def _send_v1(self, status_body: dict, callback_url: str | None, label: str) -> None:
        url = callback_url or self.webhook_url
        if not url:
            return
        response = shapes.b64_json(status_body)
        c = self.credentials
        self.deliverer.send(Webhook(
            url=url,
            headers={"Content-Type": "application/json", "X-VERIFY": shapes.x_verify(response, c.salt_key, c.salt_index)},
            body=json.dumps({"response": response}).encode(),
            label=label,
        ))

    # -- the pay page ---------------------------------------------------------------------

    def _pay_page(self, method: str, path: str, body: bytes) -> Reply:
        order = self.state.orders_by_provider_id.get(path.removeprefix("/pay/").strip("/"))
        if order is None:
            return Reply(404, "<h1>No such payment</h1>")
        if method == "POST":
            outcome = (parse_qs(body.decode()).get("outcome") or [""])[0]
            try:
                self.decide(order.merchant_order_id, outcome)
            except ValueError as error:
                return Reply(409, f"<h1>{html.escape(str(error))}</h1>")
            return self._back_to_merchant(order)
        choices = [("success", "Pay successfully"), ("failure", "Decline the payment"),
                   ("attempt_failed", "Fail this attempt (order stays open)"),
                   ("pending", "Leave it pending"), ("expire", "Let the order expire")]
        buttons = "".join(
            f'<button name="outcome" value="{value}">{label}</button><br>' for value, label in choices
        )
        state = html.escape(order.state)
        return Reply(200, (
            "<!doctype html><html><head><meta charset='utf-8'><title>PhonePe sandbox</title></head><body>"
            f"<h1>PhonePe sandbox ({order.api})</h1><p>Merchant order <code>{html.escape(order.merchant_order_id)}</code>"
            f" — ₹{order.amount // 100}.{order.amount % 100:02d} — {state}</p>"
            f"<form method='post'>{buttons}</form></body></html>"
        ))

    def _back_to_merchant(self, order: Order) -> Reply:
        if order.api == "v1" and order.redirect_mode == "POST":
            fields = {"code": shapes.v1_order_status(order, self.credentials.merchant_id)["code"],
                      "merchantId": self.credentials.merchant_id, "transactionId": order.merchant_order_id,
                      "amount": str(order.amount)}
            inputs = "".join(f"<input type='hidden' name='{k}' value='{html.escape(v)}'>" for k, v in fields.items())
            return Reply(200, f"<html><body onload='document.forms[0].submit()'><form method='post' "
                              f"action='{html.escape(order.redirect_url)}'>{inputs}</form></body></html>")
        return Reply(303, "", (("Location", order.redirect_url),))

    # -- control API ----------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        payload, problem = _json_object(body) if body else ({}, None)
        if problem:
            return Reply.json(400, {"error": problem})
        outcome = re.fullmatch(r"/_sandbox/orders/([^/]+)/outcome", path)
        refund_outcome = re.fullmatch(r"/_sandbox/refunds/([^/]+)/outcome", path)
        order_view = re.fullmatch(r"/_sandbox/orders/([^/]+)", path)
        try:
            if method == "GET" and path == "/_sandbox":
                with self.state.lock:
                    return Reply.json(200, {
                        "merchant_id": self.credentials.merchant_id, "webhook_url": self.webhook_url,
                        "token_ttl_seconds": self.state.token_ttl_seconds, "scenarios": self.state.scenarios.as_dict(),
                        "orders": len(self.state.orders), "refunds": len(self.state.refunds), "calls": dict(self.state.calls),
                        "controls": controls_of(type(self)),
                    })
            if method == "POST" and path == "/_sandbox/scenarios":
                with self.state.lock:
                    self.state.scenarios.update(payload)
                    return Reply.json(200, self.state.scenarios.as_dict())
            if method == "POST" and path == "/_sandbox/config":
                unknown = set(payload) - {"token_ttl_seconds", "webhook_url"}
                if unknown:
                    raise ValueError(f"unknown config fields: {sorted(unknown)}")
                if "token_ttl_seconds" in payload:
                    ttl = payload["token_ttl_seconds"]
                    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
                        raise ValueError("token_ttl_seconds must be a positive integer")
                    self.state.token_ttl_seconds = ttl
                if "webhook_url" in payload:
                    self.webhook_url = payload["webhook_url"]
                return Reply.json(200, {"token_ttl_seconds": self.state.token_ttl_seconds, "webhook_url": self.webhook_url})
            if method == "POST" and path == "/_sandbox/reset":
                self.state.reset(keep_orders=bool(payload.get("keep_orders", False)))
                return Reply.json(200, {"reset": True})
            if method == "POST" and path == "/_sandbox/tokens/expire":
                return Reply.json(200, {"expired": self.state.expire_tokens()})
            if method == "POST" and outcome:
                order = self.decide(outcome.group(1), str(payload.get("outcome", "")))
                return Reply.json(200, {"merchantOrderId": order.merchant_order_id, "state": order.state})
            if method == "POST" and refund_outcome:
                refund = self.settle(refund_outcome.group(1), str(payload.get("outcome", "")))
                return Reply.json(200, {"merchantRefundId": refund.merchant_refund_id, "state": refund.state})
            if method == "GET" and order_view:
                viewed = self.state.order(order_view.group(1))
                if viewed is None:
                    raise LookupError(order_view.group(1))
                with self.state.lock:
                    refunds = [{"merchantRefundId": r.merchant_refund_id, "amount": r.amount, "state": r.state}
                               for r in self.state.refunds.values()
                               if r.original_merchant_order_id == viewed.merchant_order_id]
                return Reply.json(200, {"api": viewed.api, "orderId": viewed.order_id, "state": viewed.state,
                                        "amount": viewed.amount, "attempts": len(viewed.attempts),
                                        "payPageUrl": f"{self.url}/pay/{viewed.order_id}", "refunds": refunds})
            if method == "GET" and path == "/_sandbox/webhooks":
                return Reply.json(200, {"deliveries": self.deliverer.describe(), "held": len(self.deliverer.held)})
            if method == "POST" and path == "/_sandbox/webhooks/release":
                order = payload.get("order", "fifo")
                if order not in ("fifo", "reverse"):
                    raise ValueError("order must be fifo or reverse")
                with self.state.lock:
                    self.state.scenarios.hold_webhooks = False
                return Reply.json(200, {"released": self.deliverer.release(order)})
        except LookupError as missing:
            return Reply.json(404, {"error": f"unknown id {missing.args[0]}"})
        except ValueError as error:
            return Reply.json(409 if "already" in str(error) else 400, {"error": str(error)})
        return Reply.json(404, {"error": f"no control at {method} {path}"})

    _routes: ClassVar[list] = []


PhonePeSandbox._routes = [
    ("POST", re.compile(r"/v1/oauth/token"), PhonePeSandbox._token, "v2"),
    ("POST", re.compile(r"/checkout/v2/pay"), PhonePeSandbox._v2_pay, "v2"),
    ("GET", re.compile(r"/checkout/v2/order/(?P<merchant_order_id>[^/]+)/status"), PhonePeSandbox._v2_order_status, "v2"),
    ("GET", re.compile(r"/checkout/v2/transaction/(?P<transaction_id>[^/]+)/status"), PhonePeSandbox._v2_transaction_status, "v2"),
    ("POST", re.compile(r"/payments/v2/refund"), PhonePeSandbox._v2_refund, "v2"),
    ("GET", re.compile(r"/payments/v2/refund/(?P<merchant_refund_id>[^/]+)/status"), PhonePeSandbox._v2_refund_status, "v2"),
    ("POST", re.compile(r"/pg/v1/pay"), PhonePeSandbox._v1_pay, "v1"),
    ("GET", re.compile(r"/pg/v1/status/(?P<merchant_id>[^/]+)/(?P<transaction_id>[^/]+)"), PhonePeSandbox._v1_status, "v1"),
    ("POST", re.compile(r"/pg/v1/refund"), PhonePeSandbox._v1_refund, "v1"),
]

_REFUND_PROBLEMS = {
    "DUPLICATE_MERCHANT_REFUND_ID": "This merchant refund id was used before",
    "ORDER_NOT_COMPLETED": "Only a completed order can be refunded",
    "REFUND_AMOUNT_EXCEEDED": "The refunds would exceed the order amount",
}


def _json_object(body: bytes) -> tuple[dict, str | None]:
    value, problem = json_object(body)
    return value, f"body {problem}" if problem else None


def _is_amount(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 100


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or ["false"])[0].lower() == "true"


def _handler_class(sandbox: PhonePeSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "phonepe-sandbox"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._write(Reply.json(413, {"code": "PAYLOAD_TOO_LARGE", "message": "body too large"}))
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                reply = sandbox.handle(self.command, self.path, headers, body)
            except Stall as stall:
                time.sleep(stall.seconds)
                reply = stall.reply
            except Exception as error:  # noqa: BLE001 - a sandbox bug answers 500, it never hangs a test
                sandbox.log({"phonepe_sandbox_error": repr(error), "path": self.path})
                reply = _v2_error(500, "SANDBOX_ERROR", repr(error))
            self._write(reply)

        def _write(self, reply: Reply) -> None:
            if isinstance(reply.body, (dict, list)):
                raw, kind = json.dumps(reply.body).encode(), "application/json"
            else:
                raw, kind = (reply.body or "").encode(), "text/html; charset=utf-8"
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", kind)
                for key, value in reply.headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout in the pay-stall scenario): nothing to answer

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
