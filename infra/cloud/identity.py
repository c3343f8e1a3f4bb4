"""The Cognito user pool (`SERVICE.user_pool`), one group per Role, and the app client."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.description.model import Role, Service


@dataclass(frozen=True)
class Identity:
    user_pool: cognito.UserPool
    client: cognito.UserPoolClient


def build_identity(scope: Construct, service: Service) -> Identity:
    spec = service.user_pool
    pool = cognito.UserPool(
        scope,
        "UserPool",
        user_pool_name=spec.name,
        sign_in_aliases=cognito.SignInAliases(email=True, username=False),
        sign_in_case_sensitive=False,
        auto_verify=cognito.AutoVerifiedAttrs(email=True),
        standard_attributes=cognito.StandardAttributes(
            email=cognito.StandardAttribute(required=True, mutable=True)
        ),
        password_policy=cognito.PasswordPolicy(
            min_length=spec.password_min_length,
            require_uppercase=True,
            require_lowercase=True,
            require_digits=True,
            require_symbols=True,
        ),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        # Authenticator apps only: SMS codes can be intercepted (SIM swap) and are billed per message.
        mfa={"OFF": cognito.Mfa.OFF, "OPTIONAL": cognito.Mfa.OPTIONAL, "ON": cognito.Mfa.REQUIRED}[spec.mfa],
        mfa_second_factor=None if spec.mfa == "OFF" else cognito.MfaSecondFactor(sms=False, otp=True),
        deletion_protection=True,
        # Users and their groups are customer data; never delete them with the stack.
        removal_policy=RemovalPolicy.RETAIN,
    )
    for role in Role:
        cognito.CfnUserPoolGroup(
            scope,
            f"UserPoolGroup-{role.value}",
            user_pool_id=pool.user_pool_id,
            group_name=role.value,
            description=f"Bazaar role {role.value!r}; routes name the roles allowed to call them.",
        )
    token_validity = Duration.minutes(spec.access_token_minutes)
    client = pool.add_client(
        "AppClient",
        user_pool_client_name=f"{spec.name}-app",
        generate_secret=False,
        # Clients sign in with USER_PASSWORD_AUTH against the API; no hosted UI, no OAuth flows
        # (CDK would otherwise enable implicit/code grants with an example.com callback).
        disable_o_auth=True,
        auth_flows=cognito.AuthFlow(user_password=True),  # refresh-token auth is always on
        access_token_validity=token_validity,
        id_token_validity=token_validity,
        refresh_token_validity=Duration.days(spec.refresh_token_days),
        enable_token_revocation=True,
        prevent_user_existence_errors=True,
    )
    return Identity(user_pool=pool, client=client)
