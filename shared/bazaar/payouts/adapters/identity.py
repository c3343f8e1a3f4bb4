"""Who recruited whom, read from the identity context's users."""

from __future__ import annotations

from bazaar.identity.adapters.dynamodb import DynamoDbUsers
from bazaar.identity.domain import Role


class UserDirectory:
    def __init__(self, users: DynamoDbUsers):
        self._users = users

    def recruiter_of(self, user_id: str) -> str | None:
        user = self._users.get(user_id)
        if user is None or not user.recruiter_id:
            return None
        recruiter = self._users.get(user.recruiter_id)
        # A recruiter who is no longer a scout earns nothing new; a suspended scout still earns
        # (an admin holds their payouts).
        return recruiter.user_id if recruiter and recruiter.role is Role.SCOUT else None

    def email_of(self, user_id: str) -> str | None:
        user = self._users.get(user_id)
        return user.email if user else None
