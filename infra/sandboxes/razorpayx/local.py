"""The RazorpayX sandbox inside the local twin (infra/sandboxes/__init__.py starts it when the
description declares the `razorpayx` secret).

It accepts the key the local twin seeded into that secret and debits the seeded account number
(so the functions call it with exactly what they read from Secrets Manager), signs webhooks with
the seeded webhook secret, sends them to the local gateway, and replaces RAZORPAYX_BASE_URL for
the functions that call RazorpayX. `allowed_ips`, when given, turns on the allow-list check."""

from __future__ import annotations

from infra.sandboxes.common import LocalSandbox
from infra.sandboxes.razorpayx.server import RazorpayXSandbox

SECRET = "razorpayx"


class LocalRazorpayX(LocalSandbox[RazorpayXSandbox]):
    name = "razorpayx"
    base_url_setting = "RAZORPAYX_BASE_URL"

    def __init__(self, values: dict, webhook_url: str | None, port: int = 0,
                 allowed_ips: tuple[str, ...] | None = None):
        super().__init__(values, webhook_url, port)
        self._allowed_ips = allowed_ips

    def _make(self) -> RazorpayXSandbox:
        return RazorpayXSandbox(
            key_id=self._values["key_id"],
            key_secret=self._values["key_secret"],
            account_number=self._values["account_number"],
            webhook_secret=self._values["webhook_secret"],
            webhook_url=self._webhook_url,
            port=self._port,
            allowed_ips=self._allowed_ips,
        )
