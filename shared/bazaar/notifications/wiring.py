"""The notifications context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from bazaar.notifications.adapters.dynamodb import DynamoDbFeeds
from bazaar.platform import aws
from bazaar.platform.settings import Settings


def feeds(settings: Settings) -> DynamoDbFeeds:
    return DynamoDbFeeds(aws.client("dynamodb"), settings.table("notifications"))
