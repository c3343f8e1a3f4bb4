"""The Shiprocket sandbox over HTTP on 127.0.0.1: Shiprocket's external API under /v1/external,
and a JSON control API under /_sandbox/ for tests and developers.

Control API (all JSON; answers include what happened):
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
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from infra.local.loopback import LoopbackServer
from infra.sandboxes.shiprocket.engine import Account, ApiError, Engine

API_PREFIX = "/v1/external"


@dataclass
class Fault:
    kind: str  # "5xx" | "429" | "timeout"
    remaining: int
    path: str | None = None  # a prefix of the path after /v1/external
    method: str | None = None
    status: int | None = None
    delay_seconds: float = 2.0
    then: str = "drop"  # "drop": nothing happens; "process": the call takes effect, the answer fails

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


class ShiprocketSandbox:
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
        self._faults: list[Fault] = []
        self.calls: list[dict] = []
        self.deliveries: list[dict] = []
        self.held: list[dict] = []
        self._http = requests.Session()
        self._server = LoopbackServer(_handler(self), port=port, name="shiprocket-sandbox")
        self.port = self._server.port
        self._lifecycle = threading.Lock()
        self._stopping = threading.Event()
        self._deliveries: set[threading.Thread] = set()  # the background webhook senders

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def api_url(self) -> str:
        """What a client uses as Shiprocket's base URL."""
        return self.url + API_PREFIX

    def start(self) -> ShiprocketSandbox:
        with self._lifecycle:
            if not self._stopping.is_set():
                self._server.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Idempotent, and safe before start(). Webhooks not yet sent are not sent any more; a
        delivery under way gets `timeout` seconds before the HTTP session closes."""
        with self._lifecycle:
            if self._stopping.is_set():
                return
            self._stopping.set()
            deliveries = list(self._deliveries)
        self._server.stop()
        deadline = time.monotonic() + timeout
        for delivery in deliveries:
            delivery.join(timeout=max(0.0, deadline - time.monotonic()))
        self._http.close()

    def __enter__(self) -> ShiprocketSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- Shiprocket's API -----------------------------------------------------------------

    def handle_api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                   body: bytes) -> tuple[int, dict | None, float]:
        """(status, body, seconds to stall before answering)."""
        fault = self._take_fault(method, path)
        if fault is not None and fault.then != "process":
            return self._fault_answer(fault)
        try:
            status, answer = 200, self._dispatch(method, path, query, headers, body)
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
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, {"message": "The request body is not valid JSON.", "status_code": 400}) from None
            if not isinstance(body, dict):
                raise ApiError(400, {"message": "The request body must be a JSON object.", "status_code": 400})
        else:
            body = {}
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
        known_path = False
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match:
                known_path = True
                if route_method == method:
                    return action(match)
        if known_path:
            raise ApiError(405, {"message": "The method is not allowed for the requested URL.", "status_code": 405})
        raise ApiError(404, {"message": "Not found.", "status_code": 404})

    def _with_webhooks(self, answer: dict, payloads: list[dict]) -> dict:
        # After the answer is computed and outside the engine's lock: delivery calls Bazaar,
        # whose worker may call this sandbox back.
        with self._lifecycle:
            if not self._stopping.is_set():
                sender = threading.Thread(target=self._deliver_in_background, args=(payloads,),
                                          name="shiprocket-webhooks", daemon=True)
                self._deliveries.add(sender)
                sender.start()  # under the lock: stop() never sees a sender it cannot join
        return answer

    def _deliver_in_background(self, payloads: list[dict]) -> None:
        try:
            self.deliver_all(payloads)
        finally:
            with self._lifecycle:
                self._deliveries.discard(threading.current_thread())

    # -- faults ---------------------------------------------------------------------------

    def add_fault(self, spec: dict) -> Fault:
        kind = spec.get("kind")
        if kind not in ("5xx", "429", "timeout"):
            raise ApiError(400, {"message": "kind must be 5xx, 429 or timeout"})
        fault = Fault(
            kind=kind, remaining=int(spec.get("count", 1)), path=spec.get("path"), method=spec.get("method"),
            status=spec.get("status"), delay_seconds=float(spec.get("delay_seconds", 2.0)),
            then=spec.get("then", "drop"),
        )
        if fault.then not in ("drop", "process"):
            raise ApiError(400, {"message": "then must be drop or process"})
        with self._lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_answer(fault: Fault) -> tuple[int, dict | None, float]:
        if fault.kind == "429":
            # No rate-limit headers: Shiprocket documents none.
            return 429, {"message": "Too Many Attempts.", "status_code": 429}, 0.0
        if fault.kind == "timeout":
            # Stall past the client's read timeout, then answer a gateway timeout nobody reads.
            return 504, {"message": "Gateway Time-out"}, fault.delay_seconds
        status = fault.status or 500
        return status, {"message": "Server Error", "status_code": status}, 0.0

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
        if order == "reverse":
            payloads.reverse()
        if duplicate:
            payloads = [p for p in payloads for _ in (0, 1)]
        return [self.deliver(p) for p in payloads]

    # -- control API ----------------------------------------------------------------------

    def handle_control(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, dict]:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"message": "control bodies are JSON"}
        try:
            return 200, self._control(method, path, query, body if isinstance(body, dict) else {})
        except ApiError as error:
            return error.status, error.body

    def _control(self, method: str, path: str, query: dict[str, str], body: dict) -> dict:
        engine = self.engine
        shipment = re.fullmatch(r"/_sandbox/shipments/(\d+)/(advance|scans|replay)", path)
        if method == "GET" and path == "/_sandbox/state":
            return self.state(query.get("channel_order_id"))
        if method == "POST" and path == "/_sandbox/reset":
            engine.reset()
            with self._lock:
                self._faults, self.calls, self.deliveries, self.held = [], [], [], []
            return {"reset": True}
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
        if method == "POST" and path == "/_sandbox/faults":
            fault = self.add_fault(body)
            return {"fault": fault.__dict__}
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
        raise ApiError(404, {"message": f"no control {method} {path}"})

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


def _handler(sandbox: ShiprocketSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "shiprocket-sandbox"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            delay = 0.0
            body: dict | None
            if parts.path.startswith("/_sandbox/"):
                status, body = sandbox.handle_control(self.command, parts.path.rstrip("/"), query, raw)
            elif parts.path.startswith(API_PREFIX + "/"):
                path = parts.path[len(API_PREFIX):].rstrip("/") or "/"
                status, body, delay = sandbox.handle_api(self.command, path, query, headers, raw)
            else:
                status, body = 404, {"message": "Not found.", "status_code": 404}
            if delay:
                time.sleep(delay)
            payload = json.dumps(body).encode() if body is not None else b""
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout fault): as with the real thing, nobody reads it

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
