"""Building the payment pieces a function needs from its settings (one place, every function)."""

from __future__ import annotations


from bazaar.payments.adapters import phonepe_provider
from bazaar.payments.config import (
    PHONEPE_API_VERSION_FLAG, PhonePeCredentials, PhonePeSettings, phonepe_from_environment,
)
from bazaar.payments.ports import PaymentProvider
from bazaar.payments.adapters.sqs import SqsPaymentEvents
from bazaar.payments.services import PaymentLinks
from bazaar.payments.webhooks import WebhookCredentials
from bazaar.platform import aws
from bazaar.platform.flags import Flags
from bazaar.platform.observability import logger
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import Settings


class ProviderForCurrentCredentials:
    """The PhonePe client for the secret's current values and the API generation the
    `phonepe_api_version` flag names (PHONEPE_API_VERSION when the flag store cannot say), kept
    across warm invocations (its OAuth token is cached in it) and rebuilt when either changes."""

    def __init__(self, settings: Settings, phonepe: PhonePeSettings, flags: Flags | None = None):
        self._settings, self._phonepe = settings, phonepe
        self._flags = flags if flags is not None else settings.flags()
        self._built_for: tuple[PhonePeCredentials, str] | None = None
        self._provider: PaymentProvider | None = None

    def __call__(self) -> PaymentProvider:
        credentials = load_secret(self._settings, "phonepe", PhonePeCredentials)
        version = api_version(self._flags, self._phonepe)
        if (credentials, version) != self._built_for or self._provider is None:
            self._built_for = (credentials, version)
            self._provider = phonepe_provider(self._phonepe.model_copy(update={"api_version": version}), credentials)
        return self._provider


def api_version(flags: Flags, phonepe: PhonePeSettings) -> str:
    """The PhonePe generation to use now: the flag's, when it names one; else the setting."""
    version = flags.value(PHONEPE_API_VERSION_FLAG, phonepe.api_version)
    if version not in ("v1", "v2"):
        logger.warning("phonepe_api_version flag names no PhonePe generation; using the setting",
                       extra={"flag_value": str(version)})
        return phonepe.api_version
    return str(version)


def phonepe_settings() -> PhonePeSettings:
    return phonepe_from_environment()


def payment_links(phonepe: PhonePeSettings) -> PaymentLinks:
    return PaymentLinks(shop_return_url=phonepe.return_url, callback_url=phonepe.callback_url)


def webhook_credentials(settings: Settings) -> WebhookCredentials:
    """What the webhook checks callers against, from the `phonepe` secret (read through the
    secret cache, so a rotation is picked up)."""
    secret = load_secret(settings, "phonepe", PhonePeCredentials)
    return WebhookCredentials(
        merchant_id=secret.merchant_id,
        webhook_username=secret.webhook_username,
        webhook_password=secret.webhook_password,
        salt_keys={secret.salt_index: secret.salt_key} if secret.salt_key and secret.salt_index else {},
    )


def payment_events(settings: Settings) -> SqsPaymentEvents:
    return SqsPaymentEvents(aws.client("sqs"), settings.queue_url("payment-events"))
