"""What the provider sandboxes share, written once: the fault model of the control API, the
JSON plumbing, and the lifecycle of a sandbox whose API and control API are both JSON.

- `Fault` and `FaultBook`: `POST /_sandbox/faults` {kind: "5xx"|"429"|"timeout", count, path?,
  method?, status?, delay_seconds?, then?: "drop"|"process"}; the next `count` matching API calls
  take the fault. The HTTP statuses and the stall are the same for every provider; the bodies are
  each provider's own error style, so a sandbox passes them to `Fault.answer`.
- `json_object`: an API request body as a JSON object, or the reason it is not one.
- `arrange`: held webhooks in the order a test asked for (`/_sandbox/webhooks/release`).
- `JsonSandbox`: the base of the Shiprocket and RazorpayX sandboxes: a `LoopbackServer` that sends
  `/_sandbox/...` to the JSON control API and `<api_prefix>/...` to the provider's API; start and
  an idempotent stop that joins the sandbox's background threads (its webhook senders) within one
  deadline; url and api_url.
- `LocalSandbox`: the base of the wrappers that run a sandbox inside the local twin.

PhonePe's sandbox is older and built differently (replies that may be HTML, scenario counters
instead of faults, a queue-fed deliverer); it uses `json_object` and `arrange` only."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

import requests

from infra.local.loopback import LoopbackServer


class ApiError(Exception):
    """An answer other than 2xx: the status and the body to send. Each provider's engine
    subclasses it to say which field of its error shape is the message."""

    def __init__(self, status: int, body: dict, message: str | None = None):
        super().__init__(message if message is not None else body.get("message"))
        self.status = status
        self.body = body


# -- faults -------------------------------------------------------------------------------

FAULT_KINDS = ("5xx", "429", "timeout")


@dataclass
class Fault:
    kind: str  # "5xx" | "429" | "timeout"
    remaining: int
    path: str | None = None  # a prefix of the path after the API prefix
    method: str | None = None
    status: int | None = None
    delay_seconds: float = 2.0
    then: str = "drop"  # "drop": nothing happens; "process": the call takes effect, the answer fails

    @classmethod
    def from_spec(cls, spec: dict) -> Fault:
        """The body of POST /_sandbox/faults; ApiError 400 for a kind or `then` it does not know."""
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ApiError(400, {"message": "kind must be 5xx, 429 or timeout"})
        fault = cls(
            kind=kind, remaining=int(spec.get("count", 1)), path=spec.get("path"), method=spec.get("method"),
            status=spec.get("status"), delay_seconds=float(spec.get("delay_seconds", 2.0)),
            then=spec.get("then", "drop"),
        )
        if fault.then not in ("drop", "process"):
            raise ApiError(400, {"message": "then must be drop or process"})
        return fault

    @property
    def drops(self) -> bool:
        """The call does not take effect (then="drop"), as opposed to taking effect with its answer lost."""
        return self.then != "process"

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))

    def answer(self, *, too_many: dict, timed_out: dict,
               server_error: Callable[[int], dict]) -> tuple[int, dict | None, float]:
        """(status, body, seconds to stall before answering), with the provider's bodies."""
        if self.kind == "429":
            return 429, too_many, 0.0
        if self.kind == "timeout":
            # Stall past the client's read timeout, then answer a gateway timeout nobody reads.
            return 504, timed_out, self.delay_seconds
        status = self.status or 500
        return status, server_error(status), 0.0


class FaultBook:
    """The faults waiting for API calls, oldest first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, spec: dict) -> Fault:
        fault = Fault.from_spec(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The oldest fault matching this call, one of its count used up."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults = []


# -- JSON and held webhooks ---------------------------------------------------------------

def json_object(raw: bytes) -> tuple[dict, str | None]:
    """`raw` as a JSON object, or ({}, what is wrong: "is not valid JSON" | "must be a JSON
    object") for the caller to put in its provider's words. An empty body is not an object."""
    try:
        value = json.loads(raw or b"null")
    except ValueError:  # UnicodeDecodeError included
        return {}, "is not valid JSON"
    if not isinstance(value, dict):
        return {}, "must be a JSON object"
    return value, None


_T = TypeVar("_T")


def route(routes: list[tuple[str, str, Callable[[re.Match[str]], _T]]], method: str, path: str, *,
          not_allowed: ApiError, not_found: ApiError) -> _T:
    """The answer of the first route whose pattern matches all of `path` and whose method is
    `method`; `not_allowed` (a 405 in the provider's words) when only the method is wrong."""
    known_path = False
    for route_method, pattern, action in routes:
        match = re.fullmatch(pattern, path)
        if match:
            known_path = True
            if route_method == method:
                return action(match)
    raise not_allowed if known_path else not_found


def arrange(held: list[_T], order: str = "fifo", duplicate: bool = False) -> list[_T]:
    """Held webhooks in the order they are to be released: "fifo" as they happened, "reverse"
    newest first; `duplicate` sends each twice in a row."""
    if order == "reverse":
        held = held[::-1]
    if duplicate:
        held = [item for item in held for _ in (0, 1)]
    return held


# -- a sandbox speaking JSON on both of its APIs ------------------------------------------

_CONTROL_LINE = re.compile(r"^  (GET|POST|PUT|DELETE) +(/_sandbox\S*) +(.*)$")


def controls_of(sandbox_class: type) -> list[dict[str, str]]:
    """The control calls a sandbox's server module lists under "Control API" in its docstring
    (the one place they are written down), as GET /_sandbox describes them."""
    doc = sys.modules[sandbox_class.__module__].__doc__ or ""
    controls: list[dict[str, str]] = []
    for line in doc.partition("Control API")[2].splitlines():
        entry = _CONTROL_LINE.match(line)
        if entry:
            controls.append({"method": entry[1], "path": entry[2], "does": entry[3].strip()})
        elif controls and line.startswith(" " * 20) and line.strip():
            controls[-1]["does"] += " " + line.strip()  # a continuation of the one above
    return controls

_Self = TypeVar("_Self", bound="JsonSandbox")


class JsonSandbox:
    """Subclasses set `name` and `api_prefix`, answer `handle_api` and `_control`, and may start
    long-lived threads in `_on_start` and wake them in `_on_stop`."""

    name: ClassVar[str]
    api_prefix: ClassVar[str]
    # The provider's answer to a path outside its API.
    not_found: ClassVar[dict]
    # What a control handler may raise on a malformed value (int("x")) that becomes a 400.
    bad_control_input: ClassVar[tuple[type[Exception], ...]] = (TypeError, ValueError)

    def __init__(self, *, port: int) -> None:
        self._faults = FaultBook()
        self._http = requests.Session()
        self._server = LoopbackServer(_json_handler(self), port=port, name=f"{self.name}-sandbox")
        self.port = self._server.port
        # Reentrant: `_on_start` runs under it and starts threads through `_spawn`, which takes it.
        self._lifecycle = threading.RLock()
        self._started = False
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()  # the background threads stop() joins

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def api_url(self) -> str:
        """What a client uses as the provider's base URL."""
        return self.url + self.api_prefix

    def start(self: _Self) -> _Self:
        """Idempotent; after stop() it does nothing."""
        with self._lifecycle:
            if not self._stopping.is_set() and not self._started:
                self._started = True
                self._server.start()
                self._on_start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Idempotent, and safe before start(). Background threads are told to stop (work not yet
        begun is dropped) and get what is left of `timeout` to finish; then the HTTP session that
        sends webhooks closes."""
        with self._lifecycle:
            if self._stopping.is_set():
                return
            self._stopping.set()
            threads = list(self._threads)
        self._server.stop()
        self._on_stop()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._http.close()

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_start(self) -> None:
        """Called once, under the lifecycle lock, just after the server starts."""

    def _on_stop(self) -> None:
        """Called once the server has stopped, before the background threads are joined: wake them."""

    def _spawn(self, target: Callable[..., object], *args: Any, name: str) -> bool:
        """Runs `target(*args)` on a background thread stop() will join; not once stopping (False)."""
        def run() -> None:
            try:
                target(*args)
            finally:
                with self._lifecycle:
                    self._threads.discard(threading.current_thread())

        with self._lifecycle:
            if self._stopping.is_set():
                return False
            thread = threading.Thread(target=run, name=name, daemon=True)
            self._threads.add(thread)
            thread.start()  # under the lock: stop() never misses a thread it should join
        return True

    # -- the two APIs ---------------------------------------------------------------------

    def add_fault(self, spec: dict) -> Fault:
        return self._faults.add(spec)

    def handle_api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes,
                   client_ip: str) -> tuple[int, dict | None, float]:
        """(status, body, seconds to stall before answering) for a call under `api_prefix`
        (`path` is what follows it)."""
        raise NotImplementedError

    def handle_control(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, dict]:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"message": "control bodies are JSON"}
        try:
            answer = self._control(method, path, query, body if isinstance(body, dict) else {})
        except ApiError as refusal:
            return refusal.status, refusal.body
        except self.bad_control_input as bad:
            return 400, {"message": str(bad)}
        self._after_control()
        return 200, answer

    def _control(self, method: str, path: str, query: dict[str, str], body: dict) -> dict:
        """The control endpoints every JsonSandbox has, then the provider's own."""
        if method == "GET" and path == "/_sandbox":
            return {"sandbox": self.name, "api": self.api_url, "controls": controls_of(type(self))}
        if method == "POST" and path == "/_sandbox/faults":
            return {"fault": self.add_fault(body).__dict__}
        if method == "POST" and path == "/_sandbox/reset":
            self._reset()
            self._faults.clear()
            return {"reset": True}
        answer = self._provider_control(method, path, query, body)
        if answer is None:
            raise ApiError(404, {"message": f"no control {method} {path}"})
        return answer

    def _reset(self) -> None:
        """POST /_sandbox/reset: forget what the provider's state holds (the faults are forgotten here)."""
        raise NotImplementedError

    def _provider_control(self, method: str, path: str, query: dict[str, str], body: dict) -> dict | None:
        """The answer to one of the provider's own control calls; None: there is no such call.
        ApiError for a refusal."""
        raise NotImplementedError

    def _after_control(self) -> None:
        """Called after a control call succeeded."""


def _json_handler(sandbox: JsonSandbox) -> type[BaseHTTPRequestHandler]:
    prefix = sandbox.api_prefix

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{sandbox.name}-sandbox"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            delay = 0.0
            body: dict | None
            if parts.path == "/_sandbox" or parts.path.startswith("/_sandbox/"):
                status, body = sandbox.handle_control(self.command, parts.path.rstrip("/"), query, raw)
            elif parts.path.startswith(prefix + "/"):
                path = parts.path[len(prefix):].rstrip("/") or "/"
                status, body, delay = sandbox.handle_api(self.command, path, query, headers, raw,
                                                         self.client_address[0])
            else:
                status, body = 404, sandbox.not_found
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


# -- inside the local twin ----------------------------------------------------------------

_Sandbox = TypeVar("_Sandbox", bound=JsonSandbox)
_LocalSelf = TypeVar("_LocalSelf", bound="LocalSandbox")


class LocalSandbox(Generic[_Sandbox]):
    """A sandbox as the local twin runs it (infra/sandboxes/__init__.py): made from the values the
    twin seeded into the provider's secret on start(), sending webhooks to the local gateway, and
    replacing the function setting `base_url_setting` with its API's URL while it runs.
    Subclasses set `name` and `base_url_setting`, and make the sandbox in `_make`."""

    name: str
    base_url_setting: ClassVar[str]

    def __init__(self, values: dict, webhook_url: str | None, port: int = 0):
        self._values = values
        self._webhook_url = webhook_url
        self._port = port
        self.sandbox: _Sandbox | None = None

    def _make(self) -> _Sandbox:
        raise NotImplementedError

    def start(self: _LocalSelf) -> _LocalSelf:
        if self.sandbox is None:
            self.sandbox = self._make().start()
        return self

    @property
    def settings(self) -> dict[str, str]:
        return {self.base_url_setting: self.sandbox.api_url} if self.sandbox else {}

    @property
    def url(self) -> str:
        return self.sandbox.url if self.sandbox else ""

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
