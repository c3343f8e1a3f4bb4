"""Identity and access: accounts in Cognito, Bazaar's user records, sessions and their
revocation, login throttling, and the admin audit trail."""

from infra.description.settings import rate_limits
from infra.description.model import (
    EVERY_ROLE, PUBLIC, Access, Function, Index, Key, Role, Route, Table,
)

ADMIN = frozenset({Role.ADMIN})

TABLES = (
    Table(
        name="identity",
        purpose="Users (role, status, recruiter), email/sub/referral-code claims, sign-in sessions "
        "and failed-login counters.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(Index("users-by-creation", Key("listing"), Key("listed_at")),),
        # Housekeeping of ended sessions and old counters; correctness never waits for it.
        ttl_attribute="expires_at",
    ),
    Table(
        name="audit",
        purpose="Append-only trail of admin actions, written in the transaction of the change.",
        partition_key=Key("stream"),
        sort_key=Key("at_key"),
        indexes=(
            Index("by-actor", Key("actor_id"), Key("at_key")),
            Index("by-target", Key("target_id"), Key("at_key")),
            Index("by-action", Key("action"), Key("at_key")),
        ),
    ),
)

FUNCTIONS = (
    Function(
        name="identity-authorizer",
        handler="functions.identity.authorizer.handler",
        description="API Gateway REQUEST authorizer: Cognito token, revocation and route roles.",
        memory_mb=512,
        timeout_seconds=5,
        # Sessions, suspension and the current role are read on every request.
        tables={"identity": Access.READ},
        uses_user_pool=True,
    ),
    Function(
        name="identity-api",
        handler="functions.identity.api.handler",
        description="Sign-up, sign-in (with its one-time-code step), refresh, sign-out and the caller's own account.",
        memory_mb=512,
        timeout_seconds=10,
        environment={"REFERRAL_LINK_BASE": "https://bazaar.example/join",
                     **rate_limits("RATE_LIMIT_REGISTER", "RATE_LIMIT_LOGIN", "RATE_LIMIT_LOGIN_MFA",
                                   "RATE_LIMIT_REFRESH")},
        tables={"identity": Access.READ_WRITE, "rate-limits": Access.WRITE},
        uses_user_pool=True,
        user_pool_actions=(
            "AdminCreateUser", "AdminSetUserPassword", "AdminAddUserToGroup", "AdminDeleteUser",
            "AdminUserGlobalSignOut",
        ),
        routes=(
            Route("POST", "/v1/auth/register", PUBLIC, "Create a customer, seller or scout account"),
            Route("POST", "/v1/auth/login", PUBLIC,
                  "Sign in: access, id and refresh tokens, or a one-time-code challenge for an account with a second factor"),
            Route("POST", "/v1/auth/login/mfa", PUBLIC, "Complete a challenged sign-in with the authenticator's code"),
            Route("POST", "/v1/auth/refresh", PUBLIC, "New access and id tokens from a refresh token"),
            Route("POST", "/v1/auth/logout", EVERY_ROLE, "Sign out everywhere: every token of the caller stops working"),
            Route("GET", "/v1/me", EVERY_ROLE, "The caller's own account"),
            # Open to every role: an admin without a second factor must reach them to enrol one.
            Route("POST", "/v1/me/mfa/totp", EVERY_ROLE, "Enrol an authenticator app (TOTP): its secret and otpauth:// address"),
            Route("POST", "/v1/me/mfa/totp/verify", EVERY_ROLE,
                  "Confirm the authenticator with its first code: every later sign-in asks for one"),
            Route("GET", "/v1/scouts/me/referral", frozenset({Role.SCOUT}), "The scout's referral code and link"),
        ),
    ),
    Function(
        name="identity-admin-api",
        handler="functions.identity.admin_api.handler",
        description="Admins find users, change roles, suspend, fix recruiters and read the audit trail.",
        memory_mb=512,
        timeout_seconds=10,
        tables={"identity": Access.READ_WRITE, "audit": Access.READ_WRITE},
        secrets=("app-keys",),
        uses_user_pool=True,
        user_pool_actions=(
            "AdminAddUserToGroup", "AdminRemoveUserFromGroup", "AdminDisableUser", "AdminEnableUser",
            "AdminUserGlobalSignOut",
        ),
        routes=(
            Route("GET", "/v1/admin/users", ADMIN, "List or find users (by email, role, status)"),
            Route("GET", "/v1/admin/users/{user_id}", ADMIN, "One user"),
            Route("POST", "/v1/admin/users/{user_id}/role", ADMIN, "Change a user's role (audited)"),
            Route("POST", "/v1/admin/users/{user_id}/suspend", ADMIN, "Suspend a user: every session ends (audited)"),
            Route("POST", "/v1/admin/users/{user_id}/reactivate", ADMIN, "Reactivate a suspended user (audited)"),
            Route("POST", "/v1/admin/users/{user_id}/recruiter", ADMIN, "Set or clear a user's recruiting scout (audited)"),
            Route("GET", "/v1/admin/audit", ADMIN, "The admin audit trail, filtered and paginated"),
        ),
    ),
)
