"""The notifications context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from bazaar.identity.adapters.dynamodb import DynamoDbUsers
from bazaar.notifications.adapters.dynamodb import DynamoDbFeeds, DynamoDbPreferences
from bazaar.notifications.adapters.identity import IdentityRecipients
from bazaar.notifications.adapters.providers import SesMailer, SnsTexter, SqsDeliveryQueue
from bazaar.notifications.services import Outlets, Senders
from bazaar.notifications.settings import NotificationSettings, SenderSettings
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.settings import Settings


def feeds(settings: Settings) -> DynamoDbFeeds:
    return DynamoDbFeeds(aws.client("dynamodb"), settings.table("notifications"))


def preferences(settings: Settings) -> DynamoDbPreferences:
    return DynamoDbPreferences(aws.client("dynamodb"), settings.table("notifications"))


def outlets(settings: NotificationSettings) -> Outlets:
    """For the event consumers: the feed, preferences and the delivery queue."""
    dynamodb = aws.client("dynamodb")
    return Outlets(
        feeds=DynamoDbFeeds(dynamodb, settings.table("notifications")),
        preferences=DynamoDbPreferences(dynamodb, settings.table("notifications")),
        deliveries=SqsDeliveryQueue(aws.client("sqs"), settings.queue_url("notifications")),
        clock=utc_now,
        sms_enabled=settings.sms_enabled,
    )


def senders(settings: SenderSettings) -> Senders:
    """For the notifications worker: the claims, the recipient's address and the providers."""
    # The templates load here, at the sender's cold start, not on its first delivery; no other
    # function imports them (see _send_by).
    import bazaar.notifications.rendering  # noqa: F401

    dynamodb = aws.client("dynamodb")
    return Senders(
        feeds=DynamoDbFeeds(dynamodb, settings.table("notifications")),
        recipients=IdentityRecipients(DynamoDbUsers(settings.table("identity"), client=dynamodb)),
        preferences=DynamoDbPreferences(dynamodb, settings.table("notifications")),
        mailer=SesMailer(aws.client("sesv2"), settings.email_sender),
        texter=SnsTexter(aws.client("sns")) if settings.sms_enabled else None,
        clock=utc_now,
    )
