"""The refunds context's typed settings (service-wide values from infra/description/settings.py)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from bazaar.orders.settings import OrderBookSettings
from bazaar.payouts.settings import PayoutSettings


class RefundSettings(OrderBookSettings):
    refund_window_days: float = Field(alias="REFUND_WINDOW_DAYS", ge=0, le=365)
    refund_auto_approve_paise: int = Field(alias="REFUND_AUTO_APPROVE_PAISE", ge=0)
    # The approval wait of the workflow (its TimeoutSecondsPath); Step Functions waits up to a year.
    refund_approval_timeout_seconds: int = Field(alias="REFUND_APPROVAL_TIMEOUT_SECONDS", ge=1, le=7 * 24 * 3600)

    @property
    def refund_window(self) -> timedelta:
        return timedelta(days=self.refund_window_days)


class RefundWorkflowSettings(RefundSettings, PayoutSettings):
    """The workflow's steps also reverse the sellers' earnings (the payouts ledger)."""
