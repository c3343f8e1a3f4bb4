"""The Shiprocket sandbox over HTTP on 127.0.0.1: Shiprocket's external API under /v1/external,
and a JSON control API under /_sandbox/ for tests and developers.

Control API (all JSON; answers include what happened):
  GET  /_sandbox                             this list of controls and the API's base URL
  GET  /_sandbox/state[?channel_order_id=]   orders, API calls seen, webhook deliveries, held webhooks
  POST /_sandbox/reset                       forget orders, tokens, faults, logs (keeps the config)
  POST /_sandbox/config                      {token_lifetime_seconds, webhook_url, webhook_api_key, hold_webhooks}
  POST /_sandbox/faults                      {kind: "5xx"|"429"|"timeout", count, path?, method?, status?,
                                              delay_seconds?, then?: "drop"|"process"}: the next `count`
                                              matching API calls fail that way. then="process" does the work
                                              anyway before failing (the answer is lost, the effect is not).
  POST /_sandbox/awb-failures                {count, message}: the next AWB assignments answer 200 with
                                              awb_assign_status 0 and that message
  POST /_sandbox/tokens/expire               every token issued so far is expired now
  POST /_sandbox/shipments/{id}/advance      {to?: scheme A id or label}: walk the scans there now (NDR -> RTO
                                              when `to` is on that branch); one step without `to`
  POST /_sandbox/shipments/{id}/scans        {status?, label?}: append one scan as given (late, out of
                                              order, or an unknown label with sr-status "NA")
  POST /_sandbox/shipments/{id}/replay       {index}: deliver an earlier scan's webhook again (duplicate/late)
  POST /_sandbox/webhooks/release            {order?: "fifo"|"reverse", duplicate?: bool}: deliver held webhooks
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, ClassVar

import requests

from infra.sandboxes.common import Fault, JsonSandbox, arrange, json_object, route
from infra.sandboxes.shiprocket.engine import Account, ApiError, Engine

API_PREFIX = "/v1/external"


class ShiprocketSandbox(JsonSandbox):
    """Webhooks are sent on a thread per API call that makes them (a cancel), once each: stop()
    sends no more of them, and a delivery under way gets `timeout` to finish."""

    name = "shiprocket"
    api_prefix = API_PREFIX
    not_found: ClassVar[dict] = {"message": "Not found.", "status_code": 404}
    # Kept as it was, not known to be on purpose: a malformed control value (count: "x") escapes
    # Shiprocket's control API and the request gets no answer, where RazorpayX's answers 400.
    bad_control_input = ()

    def __init__(self, *, email: str, password: str, pickup_locations: tuple[str, ...] = ("Primary",),
                 webhook_url: str | None = None, webhook_api_key: str | None = None, port: int = 0,
                 token_lifetime_seconds: int | None = None):
        self.engine = Engine(Account(email, password, tuple(pickup_locations)))
        if token_lifetime_seconds is not None:
            self.engine.token_lifetime_seconds = token_lifetime_seconds
        self.webhook_url = webhook_url
        self.webhook_api_key = webhook_api_key
        self.hold_webhooks = False
        self._lock = threading.Lock()
        self.calls: list[dict] = []
        self.deliveries: list[dict] = []
        self.held: list[dict] = []
        super().__init__(port=port)

    # -- Shiprocket's API -----------------------------------------------------------------

    def handle_api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes,
                   client_ip: str) -> tuple[int, dict | None, float]:
        fault = self._faults.take(method, path)
        if fault is not None and fault.drops:
            # Unlike RazorpayX's, a dropped call is not recorded in `calls`: Shiprocket's state
            # lists the calls that reached the engine.
            return self._fault_answer(fault)
        try:
            status, answer = 200, self._dispatch(method, path, query, headers, raw)
        except ApiError as error:
            status, answer = error.status, error.body
        with self._lock:
            self.calls.append({"method": method, "path": path, "status": status,
                               "answer_lost": fault is not None})
        if fault is not None:
            return self._fault_answer(fault)
        return status, answer, 0.0

    def _dispatch(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes) -> dict:
        engine = self.engine
        body, problem = json_object(raw) if raw else ({}, None)
        if problem:
            raise ApiError(400, {"message": f"The request body {problem}.", "status_code": 400})
        if (method, path) == ("POST", "/auth/login"):
            return engine.login(body)
        engine.authenticate(headers.get("authorization"))
        routes: list[tuple[str, str, Any]] = [
            ("POST", r"/auth/logout", lambda m: engine.logout(headers.get("authorization"))),
            ("POST", r"/orders/create/adhoc", lambda m: engine.create_adhoc(body)),
            ("GET", r"/orders", lambda m: engine.list_orders(query)),
            ("GET", r"/orders/show/(\d+)", lambda m: engine.show_order(int(m.group(1)))),
            ("POST", r"/orders/cancel", lambda m: self._with_webhooks(*engine.cancel(body))),
            ("POST", r"/courier/assign/awb", lambda m: engine.assign_awb(body)),
            ("POST", r"/courier/generate/pickup", lambda m: engine.generate_pickup(body)),
            ("GET", r"/courier/track/awb/([^/]+)", lambda m: engine.track(awb=m.group(1))),
            ("GET", r"/courier/track/shipment/(\d+)", lambda m: engine.track(shipment_id=int(m.group(1)))),
        ]
        return route(routes, method, path,
                     not_allowed=ApiError(405, {"message": "The method is not allowed for the requested URL.", "status_code": 405}),
                     not_found=ApiError(404, {"message": "Not found.", "status_code": 404}))

    def _with_webhooks(self, answer: dict, payloads: list[dict]) -> dict:
        # After the answer is computed and outside the engine's lock: delivery calls Bazaar,
        # whose worker may call this sandbox back.
        self._spawn(self.deliver_all, payloads, name="shiprocket-webhooks")
        return answer

    # -- faults ---------------------------------------------------------------------------

    @staticmethod
    def _fault_answer(fault: Fault) -> tuple[int, dict | None, float]:
        return fault.answer(
            # No rate-limit headers: Shiprocket documents none.
            too_many={"message": "Too Many Attempts.", "status_code": 429},
            timed_out={"message": "Gateway Time-out"},
            server_error=lambda status: {"message": "Server Error", "status_code": status},
        )

    # -- webhooks -------------------------------------------------------------------------

    def deliver_all(self, payloads: list[dict]) -> list[dict]:
        if self.hold_webhooks:
            with self._lock:
                self.held.extend(payloads)
            return []
        return [self.deliver(p) for p in payloads if not self._stopping.is_set()]

    def deliver(self, payload: dict) -> dict:
        """POSTs one tracking webhook the way Shiprocket does: JSON, the configured security
        token verbatim in x-api-key. UNCONFIRMED: Shiprocket's retry policy; the sandbox sends once."""
        record: dict[str, Any] = {"awb": payload.get("awb"), "label": payload.get("shipment_status"),
                                  "url": self.webhook_url, "status": None}
        if self.webhook_url:
            headers = {"Content-Type": "application/json"}
            if self.webhook_api_key:
                headers["x-api-key"] = self.webhook_api_key
            try:
                response = self._http.post(self.webhook_url, data=json.dumps(payload), headers=headers, timeout=30)
                record["status"] = response.status_code
            except requests.RequestException as error:
                record["error"] = type(error).__name__
        with self._lock:
            self.deliveries.append(record)
        return record

    def release(self, order: str = "fifo", duplicate: bool = False) -> list[dict]:
        with self._lock:
            payloads, self.held = self.held, []
        return [self.deliver(p) for p in arrange(payloads, order, duplicate)]

    # -- control API ----------------------------------------------------------------------

    def _reset(self) -> None:
        self.engine.reset()
        with self._lock:
            self.calls, self.deliveries, self.held = [], [], []

    def _provider_control(self, method: str, path: str, query: dict[str, str], body: dict) -> dict | None:
        engine = self.engine
        shipment = re.fullmatch(r"/_sandbox/shipments/(\d+)/(advance|scans|replay)", path)
        if method == "GET" and path == "/_sandbox/state":
            return self.state(query.get("channel_order_id"))
        if method == "POST" and path == "/_sandbox/config":
            if "token_lifetime_seconds" in body:
                engine.token_lifetime_seconds = int(body["token_lifetime_seconds"])
            if "webhook_url" in body:
                self.webhook_url = body["webhook_url"]
            if "webhook_api_key" in body:
                self.webhook_api_key = body["webhook_api_key"]
            if "hold_webhooks" in body:
                self.hold_webhooks = bool(body["hold_webhooks"])
            return self.config()
        if method == "POST" and path == "/_sandbox/awb-failures":
            message = body.get("message") or "Insufficient balance in wallet. Please recharge your wallet."
            with engine.lock:
                engine.awb_failures.extend([message] * int(body.get("count", 1)))
            return {"awb_failures": len(engine.awb_failures)}
        if method == "POST" and path == "/_sandbox/tokens/expire":
            return {"expired": engine.expire_tokens()}
        if method == "POST" and path == "/_sandbox/webhooks/release":
            return {"deliveries": self.release(body.get("order", "fifo"), bool(body.get("duplicate")))}
        if method == "POST" and shipment:
            shipment_id, action = int(shipment.group(1)), shipment.group(2)
            if action == "advance":
                payloads = engine.advance(shipment_id, body.get("to"))
            elif action == "scans":
                payloads = [engine.inject_scan(shipment_id, body.get("status"), body.get("label"))]
            else:
                payloads = [engine.replay(shipment_id, int(body.get("index", -1)))]
            return {"scans": [p["shipment_status"] for p in payloads], "deliveries": self.deliver_all(payloads)}
        return None

    def config(self) -> dict:
        return {"token_lifetime_seconds": self.engine.token_lifetime_seconds, "webhook_url": self.webhook_url,
                "webhook_api_key_set": bool(self.webhook_api_key), "hold_webhooks": self.hold_webhooks,
                "api_url": self.api_url}

    def state(self, channel_order_id: str | None = None) -> dict:
        with self.engine.lock:
            orders = [o.summary() for o in self.engine.orders.values()
                      if channel_order_id is None or o.channel_order_id == channel_order_id]
            logins = self.engine.logins
        with self._lock:
            return {"orders": orders, "calls": list(self.calls), "deliveries": list(self.deliveries),
                    "held": len(self.held), "logins": logins, "config": self.config()}

