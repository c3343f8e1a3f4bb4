"""A Shiprocket sandbox per test module (127.0.0.1, a free port), stopped by the fixture; each
test starts from an empty sandbox."""

from __future__ import annotations

import pytest
import requests

from infra.sandboxes.shiprocket import ShiprocketSandbox

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
