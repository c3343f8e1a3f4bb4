"""Who a user's email goes to: their address and name, read from the identity context's users."""

from __future__ import annotations

from bazaar.identity.adapters.dynamodb import DynamoDbUsers
from bazaar.notifications.ports import Recipient


class IdentityRecipients:
    def __init__(self, users: DynamoDbUsers):
        self._users = users

    def recipient(self, user_id: str) -> Recipient | None:
        user = self._users.get(user_id)
        return Recipient(email=user.email, name=user.name) if user else None
