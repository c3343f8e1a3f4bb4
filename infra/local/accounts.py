"""Accounts in the local twin, made through the identity context's own use cases and adapters
(Cognito in moto + the identity table), so a seeded account is exactly what a sign-up makes;
admins, whom sign-up refuses, are made the same way, and enrol an authenticator app (TOTP) as an
admin would through the API, since admin routes need one: their secret is handed back so that
scripts and tests can make codes.

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
    import pyotp

    from bazaar.identity import services, wiring
    from bazaar.identity.domain import SECOND_FACTOR_ROLES, LoginThrottlePolicy, PasswordPolicy, Role, Tokens
    from bazaar.platform.clock import utc_now
    from bazaar.identity.settings import IdentitySettings
    from bazaar.platform.settings import from_environment

    settings = from_environment(IdentitySettings)
    identity = wiring.build(settings)

    def login(email: str, password: str, totp_secret: str | None = None) -> Tokens:
        answer = services.login(
            email, password, "127.0.0.1", users=identity.users, directory=identity.directory,
            failures=identity.failed_logins, verify=identity.verifier.verify, policy=LoginThrottlePolicy(),
            session_days=wiring.SESSION_DAYS, now=utc_now,
        )
        if isinstance(answer, Tokens):
            return answer
        if totp_secret is None:
            raise ValueError(f"{email} has a second factor; its totp_secret is needed to sign in")
        return services.complete_mfa_login(
            answer.session, pyotp.TOTP(totp_secret).now(), "127.0.0.1", users=identity.users,
            directory=identity.directory, failures=identity.failed_logins, verify=identity.verifier.verify,
            policy=LoginThrottlePolicy(), session_days=wiring.SESSION_DAYS, now=utc_now,
        )

    if event["action"] == "create":
        created = {}
        for account in event["accounts"]:
            role = Role(account["role"])
            user = services.create_account(
                services.NewAccount(email=account["email"], password=account["password"],
                                    name=account["name"], role=role),
                users=identity.users, directory=identity.directory, policy=PasswordPolicy(), now=utc_now,
            )
            secret = None
            if role in SECOND_FACTOR_ROLES:
                access_token = login(account["email"], account["password"]).access_token
                secret = services.begin_totp_enrolment(user.user_id, access_token, users=identity.users,
                                                       directory=identity.directory).secret
                services.confirm_totp_enrolment(user.user_id, access_token, pyotp.TOTP(secret).now(),
                                                users=identity.users, directory=identity.directory)
            created[role.value] = {"user_id": user.user_id, "totp_secret": secret}
        return created
    if event["action"] == "sign_in":
        tokens = login(event["email"], event["password"], event.get("totp_secret"))
        return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    raise ValueError(f"unknown action {event['action']!r}")
