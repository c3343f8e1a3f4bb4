"""PhonePe clients (v2 OAuth, v1 salt checksum) and the SQS hand-off for verified webhooks."""

from __future__ import annotations

from bazaar.payments.config import PhonePeCredentials, PhonePeSettings
from bazaar.payments.ports import PaymentProvider


def phonepe_provider(settings: PhonePeSettings, credentials: PhonePeCredentials, session=None) -> PaymentProvider:
    """The client for the configured API generation (PHONEPE_API_VERSION)."""
    if settings.api_version == "v1":
        from bazaar.payments.adapters.phonepe_v1 import PhonePeV1

        return PhonePeV1(settings, credentials, session=session)
    from bazaar.payments.adapters.phonepe_v2 import PhonePeV2

    return PhonePeV2(settings, credentials, session=session)
