"""The RazorpayX sandbox over HTTP on 127.0.0.1: RazorpayX's payouts API under /v1 (basic auth,
an optional IP allow-list), a clock thread that walks payouts along their statuses, signed
webhooks with retries, and a JSON control API under /_sandbox/ for tests and developers.

API: POST /v1/contacts, GET /v1/contacts/{id}, POST /v1/fund_accounts, GET /v1/fund_accounts[?contact_id=],
GET /v1/fund_accounts/{id}, POST /v1/payouts (X-Payout-Idempotency), GET /v1/payouts?account_number=
[&reference_id=&status=&fund_account_id=&count=&skip=], GET /v1/payouts/{id}, POST /v1/payouts/{id}/cancel.

Control API (all JSON; answers include what happened):
  GET  /_sandbox                             this list of controls and the API's base URL
  GET  /_sandbox/state[?reference_id=]       balance, payouts (with their outcome and history), contacts,
                                              fund accounts, API calls seen, webhook deliveries (every
                                              attempt), events (every webhook ever made), held webhooks, config
  POST /_sandbox/reset                       forget payouts, contacts, fund accounts, keys, faults, outcomes,
                                              logs and held webhooks; the balance goes back to its start
                                              (keeps the config)
  POST /_sandbox/config                      {webhook_url, webhook_secret, hold_webhooks, settle_delay_seconds,
                                              allowed_ips: [..] | null, fee_paise, webhook_max_attempts,
                                              webhook_retry_base_seconds}
  POST /_sandbox/balance                     {set?: paise, add?: paise}: then queued payouts are released,
                                              oldest first, while the balance covers them
  POST /_sandbox/faults                      {kind: "5xx"|"429"|"timeout", count, path?, method?, status?,
                                              delay_seconds?, then?: "drop"|"process"}: the next `count`
                                              matching API calls (path: a prefix after /v1) fail that way.
                                              then="process" does the work anyway before failing (the answer
                                              is lost, the effect is not: the timeout that still creates)
  POST /_sandbox/outcomes                    {outcome: "processed"|"failed"|"reversed"|"rejected", count?,
                                              reason?, description?}: how the next `count` payouts end.
                                              reversed = processed first, reversed later; rejected = pending
                                              (approval workflow), then rejected
  POST /_sandbox/payouts/{id}/advance        {to}: walk the payout there now (e.g. queued -> processed,
                                              processed -> reversed), with the webhooks on the way
  POST /_sandbox/webhooks/release            {order?: "fifo"|"reverse", duplicate?: bool}: deliver held webhooks
  POST /_sandbox/webhooks/replay             {index? | event_id?}: deliver an earlier webhook again, the same
                                              bytes and event id (index into state's events; -1 the latest)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import heapq
import itertools
import re
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import requests

from infra.sandboxes.common import Fault, JsonSandbox, arrange, json_object, route
from infra.sandboxes.razorpayx.engine import (
    DEFAULT_BALANCE_PAISE,
    DEFAULT_SETTLE_DELAY_SECONDS,
    ApiError,
    Engine,
    Event,
    error,
)

API_PREFIX = "/v1"
# RazorpayX wants a 2xx within about 5 s; a slower answer counts as a failed delivery.
DELIVERY_TIMEOUT_SECONDS = 5.0
# RazorpayX retries for 24 hours; locally a few quick attempts show the behaviour.
DEFAULT_WEBHOOK_MAX_ATTEMPTS = 5
DEFAULT_WEBHOOK_RETRY_BASE_SECONDS = 0.1


class RazorpayXSandbox(JsonSandbox):
    """Two threads of its own: a clock that walks payouts along their statuses, and one webhook
    sender (so webhooks leave in the order they happened) that retries a failed delivery with
    backoff. stop() drops planned steps and webhooks not yet sent; a delivery under way gets
    what is left of `timeout` to finish."""

    name = "razorpayx"
    api_prefix = API_PREFIX
    not_found: ClassVar[dict] = {"error": {"code": "BAD_REQUEST_ERROR",
                                           "description": "The requested URL was not found on the server."}}

    def __init__(self, *, key_id: str, key_secret: str, account_number: str, webhook_secret: str | None = None,
                 webhook_url: str | None = None, port: int = 0, balance_paise: int = DEFAULT_BALANCE_PAISE,
                 settle_delay_seconds: float = DEFAULT_SETTLE_DELAY_SECONDS,
                 allowed_ips: tuple[str, ...] | None = None, fee_paise: int = 0):
        self.engine = Engine(account_number=account_number, balance_paise=balance_paise,
                             settle_delay_seconds=settle_delay_seconds, fee_paise=fee_paise)
        self.key_id = key_id
        self._key_secret = key_secret
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.allowed_ips = tuple(allowed_ips) if allowed_ips is not None else None
        self.hold_webhooks = False
        self.webhook_max_attempts = DEFAULT_WEBHOOK_MAX_ATTEMPTS
        self.webhook_retry_base_seconds = DEFAULT_WEBHOOK_RETRY_BASE_SECONDS
        self._lock = threading.Lock()
        self.calls: list[dict] = []
        self.deliveries: list[dict] = []
        self.events: list[Event] = []
        self.held: list[Event] = []
        self._wake = threading.Event()  # a new step may be due sooner than the clock thread thinks
        self._outbox: list[tuple[float, int, Event, int, int]] = []  # (due, order, event, attempt, epoch)
        self._epoch = 0  # bumped by reset: a webhook from before it must not reach the next test's receiver
        self._outbox_ready = threading.Condition()
        self._order = itertools.count()
        super().__init__(port=port)

    # -- lifecycle ------------------------------------------------------------------------

    def _on_start(self) -> None:
        self._spawn(self._walk, name="razorpayx-clock")
        self._spawn(self._send, name="razorpayx-webhooks")

    def _on_stop(self) -> None:
        self._wake.set()
        with self._outbox_ready:
            self._outbox_ready.notify_all()

    # -- RazorpayX's API ------------------------------------------------------------------

    def handle_api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes,
                   client_ip: str) -> tuple[int, dict | None, float]:
        fault = self._faults.take(method, path)
        if fault is not None and fault.drops:
            # Recorded with no status (unlike Shiprocket's): RazorpayX's state shows every call
            # that arrived, so a test can see that a retry after a dropped call came.
            self._record_call(method, path, None, client_ip, headers, fault)
            return self._fault_answer(fault)
        events: list[Event] = []
        try:
            self._check_caller(client_ip, headers.get("authorization"))
            status, answer, events = self._dispatch(method, path, query, headers, raw)
        except ApiError as refusal:
            status, answer = refusal.status, refusal.body
        self._record_call(method, path, status, client_ip, headers, fault)
        self._emit(events)
        self._wake.set()
        if fault is not None:
            return self._fault_answer(fault)
        return status, answer, 0.0

    def _check_caller(self, client_ip: str, authorization: str | None) -> None:
        allowed = self.allowed_ips
        if allowed is not None and client_ip not in allowed:
            # UNCONFIRMED: RazorpayX's exact answer to a call from an address not allowlisted; this
            # status and body are our choice (docs/providers/razorpayx.md, 'Sandbox').
            raise error(403, "Access forbidden: the request does not come from an allowlisted IP address.",
                        source="NA", step="NA", reason="ip_not_allowlisted")
        key_id, key_secret = _basic_credentials(authorization)
        # Both compares always run, so the time taken does not say which half was wrong.
        id_ok = hmac.compare_digest(key_id.encode(), self.key_id.encode())
        secret_ok = hmac.compare_digest(key_secret.encode(), self._key_secret.encode())
        if not (id_ok and secret_ok):
            # UNCONFIRMED: the description text; the status and the envelope are RazorpayX's.
            raise error(401, "Authentication failed", source="NA", step="NA", reason="NA")

    def _dispatch(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                  raw: bytes) -> tuple[int, dict, list[Event]]:
        engine = self.engine
        body, problem = json_object(raw) if raw else ({}, None)
        if problem:
            raise error(400, f"The request body {problem}.")

        def plain(answer: dict) -> tuple[int, dict, list[Event]]:
            return 200, answer, []

        def created(result: tuple[int, dict]) -> tuple[int, dict, list[Event]]:
            return result[0], result[1], []

        def cancelled(result: tuple[dict, list[Event]]) -> tuple[int, dict, list[Event]]:
            return 200, result[0], result[1]

        routes: list[tuple[str, str, Callable[[re.Match[str]], tuple[int, dict, list[Event]]]]] = [
            ("POST", r"/contacts", lambda m: created(engine.create_contact(body))),
            ("GET", r"/contacts/([\w]+)", lambda m: plain(engine.get_contact(m.group(1)))),
            ("POST", r"/fund_accounts", lambda m: created(engine.create_fund_account(body))),
            ("GET", r"/fund_accounts", lambda m: plain(engine.list_fund_accounts(query))),
            ("GET", r"/fund_accounts/([\w]+)", lambda m: plain(engine.get_fund_account(m.group(1)))),
            ("POST", r"/payouts", lambda m: engine.create_payout(headers.get("x-payout-idempotency"), body)),
            ("GET", r"/payouts", lambda m: plain(engine.list_payouts(query))),
            ("GET", r"/payouts/([\w]+)", lambda m: plain(engine.get_payout(m.group(1)))),
            ("POST", r"/payouts/([\w]+)/cancel", lambda m: cancelled(engine.cancel_payout(m.group(1)))),
        ]
        return route(routes, method, path,
                     not_allowed=error(405, "The requested method is not allowed for this URL.", reason="NA"),
                     not_found=error(404, "The requested URL was not found on the server.", reason="NA"))

    def _record_call(self, method: str, path: str, status: int | None, client_ip: str, headers: dict[str, str],
                     fault: Fault | None) -> None:
        with self._lock:
            self.calls.append({"method": method, "path": path, "status": status, "client_ip": client_ip,
                               "idempotency_key": headers.get("x-payout-idempotency"),
                               "fault": fault.kind if fault else None,
                               "answer_lost": fault is not None and status is not None})

    # -- faults ---------------------------------------------------------------------------

    @staticmethod
    def _fault_answer(fault: Fault) -> tuple[int, dict | None, float]:
        return fault.answer(
            too_many={"error": {"code": "BAD_REQUEST_ERROR", "description": "Too many requests",
                                "source": "NA", "step": "NA", "reason": "NA", "metadata": {}}},
            timed_out={"error": {"code": "GATEWAY_ERROR", "description": "Gateway Time-out"}},
            server_error=lambda status: {"error": {"code": "SERVER_ERROR",
                                                   "description": "The server encountered an error.",
                                                   "source": "NA", "step": "NA", "reason": "NA", "metadata": {}}},
        )

    # -- the clock: payouts walk on their own ---------------------------------------------

    def _walk(self) -> None:
        while not self._stopping.is_set():
            due = self.engine.next_due()
            wait = 1.0 if due is None else min(1.0, max(0.0, due - time.monotonic()))
            if wait:
                self._wake.wait(wait)
            self._wake.clear()
            if self._stopping.is_set():
                return
            self._emit(self.engine.run_due(time.monotonic()))

    # -- webhooks -------------------------------------------------------------------------

    def _emit(self, events: list[Event]) -> None:
        if not events:
            return
        with self._lock:
            self.events.extend(events)
            if self.hold_webhooks:
                self.held.extend(events)
                return
        for event in events:
            self._enqueue(event)

    def _enqueue(self, event: Event, attempt: int = 1, delay: float = 0.0, epoch: int | None = None) -> None:
        if self._stopping.is_set():
            return
        with self._outbox_ready:
            if epoch is not None and epoch != self._epoch:
                return  # a retry of a webhook from before a reset
            heapq.heappush(self._outbox, (time.monotonic() + delay, next(self._order), event, attempt, self._epoch))
            self._outbox_ready.notify()

    def _send(self) -> None:
        """One sender, so webhooks leave in the order they happened, retries aside."""
        while True:
            with self._outbox_ready:
                while not self._stopping.is_set():
                    if self._outbox and self._outbox[0][0] <= time.monotonic():
                        break
                    wait = self._outbox[0][0] - time.monotonic() if self._outbox else None
                    self._outbox_ready.wait(wait)
                if self._stopping.is_set():
                    return
                _, _, event, attempt, epoch = heapq.heappop(self._outbox)
                if epoch != self._epoch:
                    continue
            if not self.deliver(event, attempt) and attempt < self.webhook_max_attempts:
                # Exponential backoff, as RazorpayX does (over 24 hours there; seconds here).
                self._enqueue(event, attempt + 1, self.webhook_retry_base_seconds * 2 ** (attempt - 1), epoch)

    def deliver(self, event: Event, attempt: int = 1) -> bool:
        """POSTs one webhook the way RazorpayX does: the envelope's exact bytes, signed with the
        webhook secret in X-Razorpay-Signature, its id in X-Razorpay-Event-Id. True on 2xx."""
        url, secret = self.webhook_url, self.webhook_secret
        record: dict[str, Any] = {"event_id": event.event_id, "event": event.event, "payout_id": event.payout_id,
                                  "payout_status": event.status, "attempt": attempt, "url": url, "status": None}
        delivered = False
        if url:
            headers = {"Content-Type": "application/json", "X-Razorpay-Event-Id": event.event_id,
                       "User-Agent": "Razorpay-Webhook/v1"}
            if secret:
                headers["X-Razorpay-Signature"] = hmac.new(secret.encode(), event.body, hashlib.sha256).hexdigest()
            try:
                response = self._http.post(url, data=event.body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)
                record["status"] = response.status_code
                delivered = 200 <= response.status_code < 300
            except requests.RequestException as failure:
                record["error"] = type(failure).__name__
        else:
            record["error"] = "no webhook_url configured"
        record["gave_up"] = not delivered and attempt >= self.webhook_max_attempts
        with self._lock:
            self.deliveries.append(record)
        return delivered or not url  # without a URL there is nothing to retry

    def release(self, order: str = "fifo", duplicate: bool = False) -> int:
        with self._lock:
            events, self.held = self.held, []
        events = arrange(events, order, duplicate)
        for event in events:
            self._enqueue(event)
        return len(events)

    def replay(self, index: int | None = None, event_id: str | None = None) -> Event:
        with self._lock:
            if event_id is not None:
                found = [e for e in self.events if e.event_id == event_id]
                if not found:
                    raise ApiError(404, {"message": f"no event {event_id}"})
                event = found[0]
            else:
                try:
                    event = self.events[-1 if index is None else index]
                except IndexError:
                    raise ApiError(404, {"message": f"no event {index}"}) from None
        self._enqueue(event)
        return event

    # -- control API ----------------------------------------------------------------------

    def _after_control(self) -> None:
        self._wake.set()  # the control call may have made a step due sooner (a balance, an advance)

    def _reset(self) -> None:
        self.engine.reset()
        with self._lock:
            self.calls, self.deliveries, self.events, self.held = [], [], [], []
        with self._outbox_ready:
            self._outbox.clear()
            self._epoch += 1

    def _provider_control(self, method: str, path: str, query: dict[str, str], body: dict) -> dict | None:
        engine = self.engine
        payout = re.fullmatch(r"/_sandbox/payouts/([\w]+)/advance", path)
        if method == "GET" and path == "/_sandbox/state":
            return self.state(query.get("reference_id"))
        if method == "POST" and path == "/_sandbox/config":
            return self.configure(body)
        if method == "POST" and path == "/_sandbox/balance":
            released, events = engine.set_balance(
                set_to=int(body["set"]) if body.get("set") is not None else None,
                add=int(body["add"]) if body.get("add") is not None else None,
            )
            self._emit(events)
            return {"balance": engine.balance, "released": released}
        if method == "POST" and path == "/_sandbox/outcomes":
            pending = engine.add_outcomes(str(body.get("outcome")), int(body.get("count", 1)), body.get("reason"),
                                          body.get("description"))
            return {"outcomes_waiting": pending}
        if method == "POST" and payout:
            if not isinstance(body.get("to"), str):
                raise ApiError(400, {"message": "advance needs {to: a payout status}"})
            events = engine.advance(payout.group(1), body["to"])
            self._emit(events)
            return {"events": [e.event for e in events], "payout": engine.get_payout(payout.group(1))}
        if method == "POST" and path == "/_sandbox/webhooks/release":
            return {"released": self.release(body.get("order", "fifo"), bool(body.get("duplicate")))}
        if method == "POST" and path == "/_sandbox/webhooks/replay":
            index = body.get("index")
            event = self.replay(int(index) if index is not None else None, body.get("event_id"))
            return {"replayed": _event_summary(event)}
        return None

    def configure(self, body: dict) -> dict:
        if "webhook_url" in body:
            self.webhook_url = body["webhook_url"]
        if "webhook_secret" in body:
            self.webhook_secret = body["webhook_secret"]
        if "hold_webhooks" in body:
            self.hold_webhooks = bool(body["hold_webhooks"])
        if "settle_delay_seconds" in body:
            self.engine.settle_delay_seconds = float(body["settle_delay_seconds"])
        if "allowed_ips" in body:
            ips = body["allowed_ips"]
            self.allowed_ips = tuple(ips) if ips is not None else None
        if "fee_paise" in body:
            self.engine.fee_paise = int(body["fee_paise"])
        if "webhook_max_attempts" in body:
            self.webhook_max_attempts = max(1, int(body["webhook_max_attempts"]))
        if "webhook_retry_base_seconds" in body:
            self.webhook_retry_base_seconds = float(body["webhook_retry_base_seconds"])
        return self.config()

    def config(self) -> dict:
        return {"webhook_url": self.webhook_url, "webhook_secret_set": bool(self.webhook_secret),
                "hold_webhooks": self.hold_webhooks, "settle_delay_seconds": self.engine.settle_delay_seconds,
                "allowed_ips": list(self.allowed_ips) if self.allowed_ips is not None else None,
                "fee_paise": self.engine.fee_paise, "webhook_max_attempts": self.webhook_max_attempts,
                "webhook_retry_base_seconds": self.webhook_retry_base_seconds, "api_url": self.api_url,
                "account_number": self.engine.account_number, "key_id": self.key_id}

    def state(self, reference_id: str | None = None) -> dict:
        summary = self.engine.summary()
        if reference_id is not None:
            summary["payouts"] = [p for p in summary["payouts"] if p["reference_id"] == reference_id]
        with self._lock:
            return {**summary, "calls": list(self.calls), "deliveries": list(self.deliveries),
                    "events": [_event_summary(e) for e in self.events],
                    "held": [_event_summary(e) for e in self.held], "config": self.config()}


def _event_summary(event: Event) -> dict:
    return {"event_id": event.event_id, "event": event.event, "payout_id": event.payout_id, "status": event.status}


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    key_id, _, key_secret = decoded.partition(":")
    return key_id, key_secret

