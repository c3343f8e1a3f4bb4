"""The payouts context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bazaar.identity.adapters.dynamodb import DynamoDbUsers
from bazaar.money import Paise
from bazaar.orders.adapters.dynamodb import order_book
from bazaar.payouts.adapters.dynamodb import DynamoDbLedger, DynamoDbPayouts
from bazaar.payouts.adapters.identity import UserDirectory
from bazaar.payouts.adapters.sqs import SqsPayoutJobs, SqsPayoutWebhooks
from bazaar.payouts.provider import PayoutProvider
from bazaar.payouts.services import Earnings, PayoutPolicy
from bazaar.payouts.settings import PayoutSettings, RazorpayXCredentials, RazorpayXSettings
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.ids import new_id
from bazaar.platform.idempotency import IdempotentRequests
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import Settings


def policy(settings: PayoutSettings) -> PayoutPolicy:
    return PayoutPolicy(
        return_window=settings.return_window, default_commission_bps=settings.platform_fee_bps,
        gateway_fee_bps=settings.gateway_fee_bps, tcs_bps=settings.gst_tcs_bps, tds_bps=settings.income_tax_tds_bps,
        scout_bounty=settings.scout_bounty, seller_minimum=Paise(settings.seller_min_payout_paise),
        scout_minimum=Paise(settings.scout_min_payout_paise), status_poll_after=settings.status_poll_after,
    )


def razorpayx(settings: RazorpayXSettings) -> PayoutProvider:
    """The client, with the key read from the `razorpayx` secret when first needed (and again when
    the secret cache expires, so a rotated key is picked up). Imported here: only the functions
    that call RazorpayX build one, and the others need neither it nor its HTTP stack."""
    from bazaar.payouts.adapters.razorpayx import RazorpayX

    return RazorpayX(settings.razorpayx_base_url, lambda: load_secret(settings, "razorpayx", RazorpayXCredentials))


class NoProvider:
    """For functions that never call RazorpayX (they do not run behind the fixed egress)."""

    def __call__(self) -> PayoutProvider:
        raise RuntimeError("this function does not call RazorpayX")


class NoJobs:
    def enqueue(self, payout_id: str) -> None:
        raise RuntimeError("this function does not queue payout jobs")


class NoPeople:
    def recruiter_of(self, user_id: str) -> str | None:
        raise RuntimeError("this function does not read the users table")

    def email_of(self, user_id: str) -> str | None:
        raise RuntimeError("this function does not read the users table")


def earnings(settings: PayoutSettings, *, people: bool = False, jobs: bool = False,
             audited: bool = False) -> Earnings:
    dynamodb = aws.client("dynamodb")
    client = razorpayx(settings) if isinstance(settings, RazorpayXSettings) else None
    provider: Callable[[], PayoutProvider] = (lambda: client) if client is not None else NoProvider()
    return Earnings(
        ledger=DynamoDbLedger(dynamodb, settings.table("ledger"), settings.table("orders"),
                              settings.table("order-events")),
        payouts=DynamoDbPayouts(dynamodb, settings.table("payouts"), settings.table("ledger"),
                                settings.table("order-events"), settings.table("audit") if audited else None),
        orders=order_book(settings, dynamodb),
        people=UserDirectory(DynamoDbUsers(settings.table("identity"), client=dynamodb)) if people else NoPeople(),
        jobs=SqsPayoutJobs(aws.client("sqs"), settings.queue_url("payouts")) if jobs else NoJobs(),
        provider=provider,
        policy=policy(settings),
        clock=utc_now,
        new_id=new_id,
    )


def withdrawals(settings: Settings) -> IdempotentRequests:
    """A scout's withdrawal answers its Idempotency-Key the way every creating POST does."""
    return IdempotentRequests("scout-withdrawal", settings.table("idempotency"), aws.client("dynamodb"))


@dataclass(frozen=True)
class PayoutWebhook:
    queue: SqsPayoutWebhooks
    secret: Callable[[], str]  # the webhook secret, from the `razorpayx` secret (rotates)


def payout_webhook(settings: Settings) -> PayoutWebhook:
    return PayoutWebhook(
        SqsPayoutWebhooks(aws.client("sqs"), settings.queue_url("payout-webhooks")),
        lambda: load_secret(settings, "razorpayx", RazorpayXCredentials).webhook_secret.get_secret_value(),
    )
