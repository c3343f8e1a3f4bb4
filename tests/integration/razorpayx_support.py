"""What the RazorpayX sandbox tests share: the credentials, a control client over HTTP, and a
webhook endpoint whose answers a test scripts. Each test module starts its own sandbox from
`running_sandbox()` in a fixture and stops it on teardown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import requests

from infra.local.loopback import LoopbackServer
from infra.sandboxes.razorpayx import RazorpayXSandbox

KEY_ID = "rzp_test_contract"
KEY_SECRET = "contract-key-secret-1"
WEBHOOK_SECRET = "contract-webhook-secret-1"
ACCOUNT_NUMBER = "2323230041626905"
SETTLE_DELAY_SECONDS = 0.2

DEFAULT_CONFIG = {"webhook_url": None, "webhook_secret": WEBHOOK_SECRET, "hold_webhooks": False,
                  "settle_delay_seconds": SETTLE_DELAY_SECONDS, "allowed_ips": None, "fee_paise": 0,
                  "webhook_max_attempts": 5, "webhook_retry_base_seconds": 0.05}


@contextmanager
def running_sandbox() -> Iterator[RazorpayXSandbox]:
    with RazorpayXSandbox(key_id=KEY_ID, key_secret=KEY_SECRET, account_number=ACCOUNT_NUMBER,
                          webhook_secret=WEBHOOK_SECRET, settle_delay_seconds=SETTLE_DELAY_SECONDS) as sandbox:
        yield sandbox


class Control:
    """The sandbox's API and control API, over HTTP as a developer would call them."""

    def __init__(self, sandbox: RazorpayXSandbox):
        self.sandbox = sandbox
        self.url = sandbox.url
        self.api = sandbox.api_url

    def fresh(self) -> Control:
        self.post("reset")
        self.post("config", DEFAULT_CONFIG)
        return self

    def post(self, path: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/_sandbox/{path}", json=body or {}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def state(self, reference_id: str | None = None) -> dict:
        params = {"reference_id": reference_id} if reference_id else None
        return requests.get(f"{self.url}/_sandbox/state", params=params, timeout=10).json()

    def call(self, method: str, path: str, *, auth: tuple[str, str] | None = (KEY_ID, KEY_SECRET),
             **kwargs) -> requests.Response:
        return requests.request(method, f"{self.api}{path}", auth=auth, timeout=10, **kwargs)

    def payout(self, payout_id: str) -> dict:
        return self.call("GET", f"/payouts/{payout_id}").json()

    def wait_for_status(self, payout_id: str, status: str, timeout: float = 10) -> dict:
        return wait_until(lambda: (p := self.payout(payout_id))["status"] == status and p, timeout,
                          f"payout {payout_id} never reached {status}")


def wait_until(check: Callable[[], object], timeout: float = 10, message: str = "condition not met"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(message)


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class ScriptedReceiver:
    """A webhook endpoint on 127.0.0.1: records every POST and answers the next status in
    `answers` (200 once they run out)."""

    def __init__(self, answers: list[int] | None = None):
        self.received: list[Delivery] = []
        self.answers = list(answers or [])
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = LoopbackServer(Handler, name="razorpayx-receiver")
        self.url = f"{self._server.url}/webhooks/razorpayx"

    def __enter__(self) -> ScriptedReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()

    def wait_for(self, count: int, timeout: float = 10) -> list[Delivery]:
        wait_until(lambda: len(self.received) >= count, timeout, f"fewer than {count} webhooks arrived")
        with self._lock:
            return list(self.received)

    def events(self) -> list[str]:
        with self._lock:
            return [d.json()["event"] for d in self.received]
