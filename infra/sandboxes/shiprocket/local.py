"""The Shiprocket sandbox inside the local twin (infra/sandboxes/__init__.py starts it when the
description declares the `shiprocket` secret).

It accepts the credentials the local twin seeded into that secret (so the functions log in with
exactly what they read from Secrets Manager), sends tracking webhooks to the local gateway with
the seeded webhook_api_key, and replaces SHIPROCKET_BASE_URL for the functions that call
Shiprocket."""

from __future__ import annotations

from infra.sandboxes.common import LocalSandbox
from infra.sandboxes.shiprocket.server import ShiprocketSandbox

SECRET = "shiprocket"


class LocalShiprocket(LocalSandbox[ShiprocketSandbox]):
    name = "shiprocket"
    base_url_setting = "SHIPROCKET_BASE_URL"

    def _make(self) -> ShiprocketSandbox:
        return ShiprocketSandbox(
            email=self._values["api_email"],
            password=self._values["api_password"],
            pickup_locations=(self._values["pickup_location"],),
            webhook_url=self._webhook_url,
            webhook_api_key=self._values["webhook_api_key"],
            port=self._port,
        )
