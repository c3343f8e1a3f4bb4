"""The ops context's typed settings."""

from __future__ import annotations

from pydantic import Field

from bazaar.platform.settings import Settings


class OpsSettings(Settings):
    heartbeat_interval_minutes: int = Field(alias="HEARTBEAT_INTERVAL_MINUTES", ge=1, le=60)
    stock_cleanup_interval_minutes: int = Field(alias="STOCK_CLEANUP_INTERVAL_MINUTES", default=5, ge=1, le=60)
    # The providers /health reports on (degraded, not down, when one is unreachable).
    phonepe_base_url: str | None = Field(alias="PHONEPE_BASE_URL", default=None, pattern=r"^https?://")
    shiprocket_base_url: str | None = Field(alias="SHIPROCKET_BASE_URL", default=None, pattern=r"^https?://")
    razorpayx_base_url: str | None = Field(alias="RAZORPAYX_BASE_URL", default=None, pattern=r"^https?://")

    def provider_urls(self) -> dict[str, str]:
        named = {"phonepe": self.phonepe_base_url, "shiprocket": self.shiprocket_base_url,
                 "razorpayx": self.razorpayx_base_url}
        return {name: url for name, url in named.items() if url}
