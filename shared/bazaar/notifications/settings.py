"""The notifications context's typed settings (given by infra/description/contexts/notifications.py)."""

from __future__ import annotations

from pydantic import Field

from bazaar.platform.settings import Settings


class NotificationSettings(Settings):
    # SMS go out only with this on AND the user's preference (and number) for the kind.
    sms_enabled: bool = Field(alias="SMS_ENABLED", default=False)


class SenderSettings(NotificationSettings):
    # Who emails come from, e.g. `Bazaar <no-reply@bazaar.example>`: an SES-verified identity.
    email_sender: str = Field(alias="EMAIL_SENDER", min_length=3, pattern=r"^[^<>]*<?[^@<>\s]+@[^@<>\s]+>?$")
