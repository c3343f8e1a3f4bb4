"""The RazorpayX sandbox inside the local twin (infra/sandboxes/__init__.py starts it when the
description declares the `razorpayx` secret).

It accepts the key the local twin seeded into that secret and debits the seeded account number
(so the functions call it with exactly what they read from Secrets Manager), signs webhooks with
the seeded webhook secret, sends them to the local gateway, and replaces RAZORPAYX_BASE_URL for
the functions that call RazorpayX. `allowed_ips`, when given, turns on the allow-list check."""

from __future__ import annotations

from infra.sandboxes.razorpayx.server import RazorpayXSandbox

SECRET = "razorpayx"


class LocalRazorpayX:
    name = "razorpayx"

    def __init__(self, values: dict, webhook_url: str | None, port: int = 0,
                 allowed_ips: tuple[str, ...] | None = None):
        self._values = values
        self._webhook_url = webhook_url
        self._port = port
        self._allowed_ips = allowed_ips
        self.sandbox: RazorpayXSandbox | None = None

    def start(self) -> LocalRazorpayX:
        if self.sandbox is None:
            self.sandbox = RazorpayXSandbox(
                key_id=self._values["key_id"],
                key_secret=self._values["key_secret"],
                account_number=self._values["account_number"],
                webhook_secret=self._values["webhook_secret"],
                webhook_url=self._webhook_url,
                port=self._port,
                allowed_ips=self._allowed_ips,
            ).start()
        return self

    @property
    def settings(self) -> dict[str, str]:
        return {"RAZORPAYX_BASE_URL": self.sandbox.api_url} if self.sandbox else {}

    @property
    def url(self) -> str:
        return self.sandbox.url if self.sandbox else ""

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
