"""The Shiprocket sandbox inside the local twin (infra/local/stack.py lists it in SANDBOXES).

It runs when the description declares the `shiprocket` secret. It accepts the credentials the
local twin seeded into that secret (so the functions log in with exactly what they read from
Secrets Manager), sends tracking webhooks to the local gateway with the seeded webhook_api_key,
and replaces SHIPROCKET_BASE_URL for the functions that call Shiprocket."""

from __future__ import annotations

import json

from infra.description.model import Function, Service
from infra.sandboxes.shiprocket.server import ShiprocketSandbox

SECRET = "shiprocket"


class LocalShiprocket:
    name = "shiprocket"

    def __init__(self) -> None:
        self.sandbox: ShiprocketSandbox | None = None

    @staticmethod
    def wanted(service: Service) -> bool:
        return any(s.name == SECRET for s in service.secrets)

    def start(self, service: Service, read_secret) -> None:
        """After the local AWS is provisioned (the secret exists), before any function starts."""
        values = json.loads(read_secret(SECRET))
        webhook = next((w for _, w in service.webhooks if w.provider == "shiprocket"), None)
        self.webhook_path = webhook.path if webhook else None
        self.sandbox = ShiprocketSandbox(
            email=values["api_email"], password=values["api_password"],
            pickup_locations=(values["pickup_location"],), webhook_api_key=values["webhook_api_key"],
        ).start()

    def function_environment(self, function: Function) -> dict[str, str]:
        if self.sandbox is None or "SHIPROCKET_BASE_URL" not in function.environment:
            return {}
        return {"SHIPROCKET_BASE_URL": self.sandbox.api_url}

    def connect(self, api_url: str) -> None:
        """Once the gateway listens: scans go to the webhook the description declares."""
        if self.sandbox is not None and self.webhook_path:
            self.sandbox.webhook_url = api_url + self.webhook_path

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    @property
    def url(self) -> str | None:
        return self.sandbox.url if self.sandbox else None
