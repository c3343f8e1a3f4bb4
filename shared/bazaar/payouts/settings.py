"""The payouts context's typed settings (service-wide values from infra/description/settings.py;
the RazorpayX host from infra/description/contexts/payouts.py)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bazaar.money import Paise
from bazaar.orders.settings import OrderBookSettings
from bazaar.payouts.domain import MINIMUM_PAYOUT


class PayoutSettings(OrderBookSettings):
    """Every payouts function: the ledger's rates and the payout minimums. Rates are basis points
    (1 bps = 0.01%); an operator must confirm the tax rates in force (docs/payouts.md)."""

    return_window_days: float = Field(alias="RETURN_WINDOW_DAYS", ge=0, le=90)
    platform_fee_bps: int = Field(alias="PLATFORM_FEE_BPS", ge=0, le=10_000)
    gateway_fee_bps: int = Field(alias="GATEWAY_FEE_BPS", ge=0, le=10_000)
    gst_tcs_bps: int = Field(alias="GST_TCS_BPS", ge=0, le=10_000)
    income_tax_tds_bps: int = Field(alias="INCOME_TAX_TDS_BPS", ge=0, le=10_000)
    scout_bounty_paise: int = Field(alias="SCOUT_BOUNTY_PAISE", ge=0)
    seller_min_payout_paise: int = Field(alias="SELLER_MIN_PAYOUT_PAISE", ge=MINIMUM_PAYOUT.amount)
    scout_min_payout_paise: int = Field(alias="SCOUT_MIN_PAYOUT_PAISE", ge=MINIMUM_PAYOUT.amount)
    # An open payout not heard of for this long is asked about by the status poll.
    payout_status_poll_after_seconds: int = Field(alias="PAYOUT_STATUS_POLL_AFTER_SECONDS", default=120, ge=0,
                                                  le=24 * 3600)

    @property
    def return_window(self) -> timedelta:
        return timedelta(days=self.return_window_days)

    @property
    def scout_bounty(self) -> Paise:
        return Paise(self.scout_bounty_paise)

    @property
    def status_poll_after(self) -> timedelta:
        return timedelta(seconds=self.payout_status_poll_after_seconds)


class RazorpayXSettings(PayoutSettings):
    """Functions that call RazorpayX (they run behind the fixed egress address)."""

    razorpayx_base_url: str = Field(alias="RAZORPAYX_BASE_URL", pattern="^https?://")


class RazorpayXCredentials(BaseModel):
    """The `razorpayx` secret (infra/description/contexts/payouts.py): the client's keys, and the
    webhook secret the webhook function checks with (it needs no client, nor requests)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key_id: str = Field(min_length=1)
    key_secret: SecretStr
    webhook_secret: SecretStr
    account_number: str = Field(min_length=1)  # our RazorpayX account, debited by every payout
