"""Accounts in the local twin, made through the identity context's own use cases and adapters
(Cognito in moto + the identity table), so a seeded account is exactly what a sign-up makes;
admins, whom sign-up refuses, are made the same way.

Runs as a Lambda-like function in the local runtime (its own process with the environment the
description gives it), never in the caller's process: the adapters read their endpoints and
tables from that environment as they do in the cloud."""

from __future__ import annotations


from infra.description.model import Access, Function

FUNCTION = Function(
    name="local-accounts",
    handler="infra.local.accounts.handler",
    description="Local twin only: creates accounts and signs them in through the identity use cases.",
    timeout_seconds=30,
    tables={"identity": Access.READ_WRITE},
    uses_user_pool=True,
)


def handler(event, context):
    from bazaar.identity import services, wiring
    from bazaar.identity.domain import LoginThrottlePolicy, PasswordPolicy, Role
    from bazaar.platform.clock import utc_now
    from bazaar.identity.settings import IdentitySettings
    from bazaar.platform.settings import from_environment

    settings = from_environment(IdentitySettings)
    identity = wiring.build(settings)
    if event["action"] == "create":
        created = {}
        for account in event["accounts"]:
            user = services.create_account(
                services.NewAccount(email=account["email"], password=account["password"],
                                    name=account["name"], role=Role(account["role"])),
                users=identity.users, directory=identity.directory, policy=PasswordPolicy(), now=utc_now,
            )
            created[account["role"]] = user.user_id
        return created
    if event["action"] == "sign_in":
        tokens = services.login(
            event["email"], event["password"], "127.0.0.1",
            users=identity.users, directory=identity.directory,
            failures=identity.failed_logins, verify=identity.verifier.verify,
            policy=LoginThrottlePolicy(), session_days=wiring.SESSION_DAYS, now=utc_now,
        )
        return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    raise ValueError(f"unknown action {event['action']!r}")
