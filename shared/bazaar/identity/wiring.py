"""Building the identity context's adapters from settings: one place, used by the functions and
by the local stack's seeding, so seeded accounts are made exactly as sign-ups are."""

from __future__ import annotations

from dataclasses import dataclass

from bazaar.identity.adapters.cognito import CognitoDirectory
from bazaar.identity.adapters.dynamodb import DynamoDbAuditTrail, DynamoDbFailedLogins, DynamoDbUsers
from bazaar.identity.tokens import TokenVerifier, pool_verifier
from bazaar.platform import aws
from bazaar.identity.settings import IdentitySettings

# The app client's refresh-token life (infra/description UserPool.refresh_token_days): a session
# record is kept that long.
SESSION_DAYS = 30


@dataclass(frozen=True)
class Identity:
    users: DynamoDbUsers
    directory: CognitoDirectory
    verifier: TokenVerifier
    failed_logins: DynamoDbFailedLogins


def build(settings: IdentitySettings, *, with_audit: bool = False) -> Identity:
    dynamodb = aws.client("dynamodb")
    return Identity(
        users=DynamoDbUsers(settings.table("identity"), settings.table("audit") if with_audit else None,
                            client=dynamodb),
        failed_logins=DynamoDbFailedLogins(settings.table("identity"), client=dynamodb),
        directory=CognitoDirectory(aws.client("cognito-idp"), settings.user_pool_id, settings.user_pool_client_id),
        verifier=pool_verifier(settings.region, settings.user_pool_id, settings.user_pool_client_id,
                               settings.user_pool_jwks_url),
    )


def audit_trail(settings: IdentitySettings) -> DynamoDbAuditTrail:
    """The append-only audit trail, as admin functions read it (they declare the audit table)."""
    return DynamoDbAuditTrail(settings.table("audit"), client=aws.client("dynamodb"))
