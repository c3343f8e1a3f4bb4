"""Provider sandboxes (PhonePe, Shiprocket) and a webhook receiver, each on a free 127.0.0.1
port, started and stopped by the fixtures below."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from infra.local.loopback import LoopbackServer
from infra.sandboxes.phonepe import Credentials, PhonePeSandbox
from infra.sandboxes.shiprocket import ShiprocketSandbox


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every POST it gets and answers 200: a merchant endpoint in miniature."""

    def __init__(self):
        self.calls: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.calls.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = LoopbackServer(Handler, name="webhook-receiver")
        self.url = self._server.url

    def start(self) -> WebhookReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        """Waits until `count` calls arrived (or the timeout), then returns them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.calls) >= count:
                    break
            time.sleep(0.02)
        with self._lock:
            return list(self.calls)


def make_credentials() -> Credentials:
    return Credentials(
        merchant_id="BAZAARTEST", client_id="BAZAAR_TEST_CLIENT", client_secret=secrets.token_urlsafe(24),
        client_version="1", salt_key=secrets.token_hex(18), salt_index="1",
        webhook_username="bazaar_test", webhook_password=secrets.token_hex(8),
    )


@pytest.fixture(scope="module")
def receiver():
    running = WebhookReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def sandbox(receiver):
    with PhonePeSandbox(make_credentials(), token_ttl_seconds=300, webhook_url=f"{receiver.url}/webhooks/phonepe") as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_scenarios(request):
    """Every test starts with no scenario switched on and an empty receiver."""
    if "sandbox" in request.fixturenames:
        sandbox = request.getfixturevalue("sandbox")
        requests.post(f"{sandbox.url}/_sandbox/reset", json={"keep_orders": True}, timeout=5)
        sandbox.state.token_ttl_seconds = 300
    if "receiver" in request.fixturenames:
        request.getfixturevalue("receiver").clear()
    return

SHIPROCKET_EMAIL = "api-user@bazaar.test"
SHIPROCKET_PASSWORD = "sandbox-password-1"
PICKUP = "Primary"


class SandboxControl:
    """The sandbox's control API, over HTTP as a developer would call it."""

    def __init__(self, sandbox: ShiprocketSandbox):
        self.sandbox = sandbox
        self.url = sandbox.url
        self.api = sandbox.api_url

    def post(self, path: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/_sandbox/{path}", json=body or {}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def state(self, channel_order_id: str | None = None) -> dict:
        params = {"channel_order_id": channel_order_id} if channel_order_id else None
        return requests.get(f"{self.url}/_sandbox/state", params=params, timeout=10).json()


@pytest.fixture(scope="module")
def _shiprocket_sandbox():
    with ShiprocketSandbox(email=SHIPROCKET_EMAIL, password=SHIPROCKET_PASSWORD, pickup_locations=(PICKUP,)) as sandbox:
        yield sandbox


@pytest.fixture
def shiprocket(_shiprocket_sandbox) -> SandboxControl:
    control = SandboxControl(_shiprocket_sandbox)
    control.post("reset")
    control.post("config", {"token_lifetime_seconds": 240 * 3600, "webhook_url": None, "hold_webhooks": False})
    return control


@pytest.fixture(scope="module")
def orders(local_stack):
    """The order book on the session stack's tables, as functions build it."""
    from bazaar.orders.adapters.dynamodb import DynamoDbOrderBook

    names = local_stack.names
    return DynamoDbOrderBook(local_stack.client("dynamodb"), names.table_name("orders"), names.table_name("stock"),
                             events_table=names.table_name("order-events"))
