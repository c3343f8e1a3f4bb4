"""The Shiprocket sandbox inside the local twin (infra/sandboxes/__init__.py starts it when the
description declares the `shiprocket` secret).

It accepts the credentials the local twin seeded into that secret (so the functions log in with
exactly what they read from Secrets Manager), sends tracking webhooks to the local gateway with
the seeded webhook_api_key, and replaces SHIPROCKET_BASE_URL for the functions that call
Shiprocket."""

from __future__ import annotations

from infra.sandboxes.shiprocket.server import ShiprocketSandbox

SECRET = "shiprocket"


class LocalShiprocket:
    name = "shiprocket"

    def __init__(self, values: dict, webhook_url: str | None, port: int = 0):
        self._values = values
        self._port = port
        self._webhook_url = webhook_url
        self.sandbox: ShiprocketSandbox | None = None

    def start(self) -> LocalShiprocket:
        self.sandbox = ShiprocketSandbox(
            email=self._values["api_email"],
            password=self._values["api_password"],
            pickup_locations=(self._values["pickup_location"],),
            webhook_api_key=self._values["webhook_api_key"],
            port=self._port,
        ).start()
        self.sandbox.webhook_url = self._webhook_url
        return self

    @property
    def settings(self) -> dict[str, str]:
        return {"SHIPROCKET_BASE_URL": self.sandbox.api_url} if self.sandbox else {}

    @property
    def url(self) -> str:
        return self.sandbox.url if self.sandbox else ""

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
