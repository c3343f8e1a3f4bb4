"""PhonePe configuration: which API generation and host (settings, from the description) and the
merchant's credentials (the `phonepe` secret in Secrets Manager). Validated at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bazaar.payments.domain import StatusCheckPlan
from bazaar.platform.settings import ConfigurationError


# The flag that picks the API generation (infra/description/contexts/payments.py declares it; a
# unit test keeps the names equal). Its fallback is PHONEPE_API_VERSION.
PHONEPE_API_VERSION_FLAG = "phonepe_api_version"


class PhonePeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    api_version: Literal["v1", "v2"] = Field(alias="PHONEPE_API_VERSION")
    base_url: str = Field(alias="PHONEPE_BASE_URL", pattern=r"^https?://[^\s]+[^/\s]$")
    # v2 only: production serves OAuth from another host (identity-manager) than the PG APIs.
    oauth_base_url: str = Field(alias="PHONEPE_OAUTH_BASE_URL", pattern=r"^https?://[^\s]+[^/\s]$")
    # Short: a Lambda behind API Gateway has 29 s in all, and a timed-out create is retried with
    # the same id and then checked with the status API.
    timeout_seconds: float = Field(alias="PHONEPE_TIMEOUT_SECONDS", default=5.0, gt=0, le=10)
    # Where PhonePe sends the shopper back (<url>/<order_id>) and, for v1, where it calls us back
    # (our webhook: v2 webhooks go to the URL set on PhonePe's dashboard instead).
    return_url: str = Field(alias="PAYMENT_RETURN_URL", default="https://shop.bazaar.example/orders",
                            pattern=r"^https?://[^\s]+$")
    callback_url: str = Field(alias="PHONEPE_CALLBACK_URL", default="https://api.bazaar.example/webhooks/phonepe",
                              pattern=r"^https?://[^\s]+$")
    # PhonePe's mandated status checks while a payment is pending (docs/providers/phonepe.md, 'Status
    # polling'): the first 20-25 s after the start, the last at the payment's timeout (15 or 20 minutes).
    first_status_check_seconds: int = Field(alias="PHONEPE_FIRST_STATUS_CHECK_SECONDS", default=20, ge=0, le=60)
    payment_timeout_seconds: int = Field(alias="PHONEPE_PAYMENT_TIMEOUT_SECONDS", default=1200, ge=60, le=3600)

    def status_check_plan(self) -> StatusCheckPlan:
        return StatusCheckPlan(first_check=timedelta(seconds=self.first_status_check_seconds),
                               timeout=timedelta(seconds=self.payment_timeout_seconds))


class PhonePeCredentials(BaseModel):
    """The `phonepe` secret. v2 uses the client and webhook fields, v1 the salt fields; both sets
    are kept so a merchant can switch generations (and v1 callbacks keep verifying) without a
    secret migration."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    merchant_id: str = Field(min_length=1)
    client_id: str = ""
    client_secret: str = ""
    client_version: str = ""
    salt_key: str = ""
    salt_index: str = ""
    webhook_username: str = ""
    webhook_password: str = ""

    def __repr__(self) -> str:  # never let a secret reach a log line through repr
        return f"PhonePeCredentials(merchant_id={self.merchant_id!r}, ...)"

    __str__ = __repr__


def phonepe_from_environment() -> PhonePeSettings:
    """The function's PhonePe settings, from its environment (read here, once, at cold start)."""
    return load_phonepe_settings(os.environ)


def load_phonepe_settings(environ: Mapping[str, str]) -> PhonePeSettings:
    try:
        return PhonePeSettings.model_validate(dict(environ))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise ConfigurationError(f"invalid PhonePe configuration: {problems}") from None
