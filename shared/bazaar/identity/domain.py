"""Who may use Bazaar and how: accounts, their one role, suspension, sessions and their
revocation, the password rules, referral by scouts, login throttling and the admin audit trail.

Pure Python: no AWS here. Ids: a user's id is a Bazaar id (`usr_...`), never the Cognito `sub`;
the sub is kept on the user and mapped to the id where a token arrives (the authorizer)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode

from bazaar.platform.errors import BazaarError, Conflict, NotFound


class Role(StrEnum):
    CUSTOMER = "customer"
    SELLER = "seller"
    SCOUT = "scout"
    ADMIN = "admin"


# Admins are made by other admins (or the local seeding), never by signing up.
SELF_REGISTERABLE = frozenset({Role.CUSTOMER, Role.SELLER, Role.SCOUT})

# Roles that act for everyone (refunds, payouts, suspensions): they reach their routes only with a
# second factor. Every other role may turn one on.
SECOND_FACTOR_ROLES = frozenset({Role.ADMIN})


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class ReferralSource(StrEnum):
    CODE = "code"  # typed in by the new user
    LINK = "link"  # arrived through the scout's shareable link


# -- errors -------------------------------------------------------------------------------------


class PasswordPolicyViolated(BazaarError):
    code = "PASSWORD_POLICY"


class ReferralCodeInvalid(BazaarError):
    code = "REFERRAL_CODE_INVALID"

    def __init__(self) -> None:
        super().__init__("The referral code does not belong to an active scout.",
                         details=[{"field": "referral_code", "issue": "unknown or inactive"}])


class EmailTaken(BazaarError):
    code = "EMAIL_ALREADY_REGISTERED"

    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


class InvalidCredentials(BazaarError):
    code = "INVALID_CREDENTIALS"

    def __init__(self) -> None:
        # The same words whether or not the email exists: no account enumeration.
        super().__init__("The email or password is incorrect.")


class SessionRejected(BazaarError):
    code = "UNAUTHORIZED"

    def __init__(self) -> None:
        super().__init__("The token is invalid, expired or revoked; sign in again.")


class AccountSuspended(BazaarError):
    code = "ACCOUNT_SUSPENDED"

    def __init__(self) -> None:
        super().__init__("This account is suspended.")


class LoginThrottled(BazaarError):
    code = "THROTTLED"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("Too many failed sign-ins; try again later.")
        self.headers = {"Retry-After": str(max(1, retry_after_seconds))}


class MfaCodeInvalid(BazaarError):
    code = "MFA_CODE_INVALID"

    def __init__(self) -> None:
        super().__init__("The one-time code is not valid; sign in again.")


class MfaSessionInvalid(BazaarError):
    code = "MFA_SESSION_INVALID"

    def __init__(self) -> None:
        super().__init__("The sign-in challenge is unknown, used or expired; sign in again.")


class MfaAlreadyEnabled(Conflict):
    code = "MFA_ALREADY_ENABLED"

    def __init__(self) -> None:
        super().__init__("An authenticator app is already enrolled for this account.")


class EnrolmentCodeMismatch(BazaarError):
    code = "VALIDATION_FAILED"

    def __init__(self) -> None:
        super().__init__("The code does not match the authenticator's secret.",
                         details=[{"field": "code", "issue": "does not match; check the device's clock"}])


class UserNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such user.")


class AdminChangeRefused(Conflict):
    pass


# -- emails and passwords -----------------------------------------------------------------------

# ASCII local parts only (RFC 5322 atext and dots): what Cognito accepts as an email username.
EMAIL_PATTERN = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"


def normalise_email(email: str) -> str:
    # Cognito compares email usernames case-insensitively (sign_in_case_sensitive=False); so do we.
    return email.strip().lower()


# Cognito's own list of symbols, so the domain and the pool agree on what a symbol is.
_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12

    def check(self, password: str) -> None:
        broken = []
        if len(password) < self.min_length:
            broken.append(("min_length", f"must be at least {self.min_length} characters"))
        if not any(c.isupper() for c in password):
            broken.append(("uppercase", "must contain an upper-case letter"))
        if not any(c.islower() for c in password):
            broken.append(("lowercase", "must contain a lower-case letter"))
        if not any(c.isdigit() for c in password):
            broken.append(("digit", "must contain a digit"))
        if not any(c in _SYMBOLS for c in password):
            broken.append(("symbol", "must contain a symbol such as ! @ # $ %"))
        if broken:
            rules = ", ".join(rule for rule, _ in broken)
            raise PasswordPolicyViolated(
                f"The password breaks the policy: {rules}.",
                details=[{"field": "password", "issue": f"{rule}: {issue}"} for rule, issue in broken],
            )


# -- referral codes -----------------------------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by hand
REFERRAL_CODE_PATTERN = rf"^[{_CODE_ALPHABET}]{{8}}$"


def new_referral_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def referral_link(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}?ref={code}"


# -- users and sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    user_id: str
    sub: str  # Cognito's id for the same person
    email: str
    name: str
    role: Role
    status: UserStatus
    created_at: datetime
    recruiter_id: str | None = None
    referral_source: ReferralSource | None = None
    referred_with_code: str | None = None
    referral_code: str | None = None  # a scout's own code
    # Every session begun at or before this instant (ms since the epoch) is over: logout and
    # suspension move it forward.
    sessions_valid_after_ms: int = 0
    # An authenticator app (TOTP) is enrolled and verified: the directory asks for its code at sign-in.
    mfa_enabled: bool = False
    version: int = 1

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.ACTIVE

    def public_view(self) -> dict[str, Any]:
        """What an audit entry records of a user (no secrets, no session detail)."""
        return {"role": self.role.value, "status": self.status.value, "recruiter_id": self.recruiter_id}


@dataclass(frozen=True)
class Session:
    """One sign-in: every token refreshed from it shares its `origin_jti` (the session id)."""

    user_id: str
    session_id: str
    started_at_ms: int


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str | None
    expires_in: int


@dataclass(frozen=True)
class DirectoryChallenge:
    """The directory checked the password and wants the user's one-time code before it issues tokens."""

    directory_session: str


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in waiting for its one-time code. The client holds only `session` (random); the record
    is kept under its hash, so a read of the table cannot answer a challenge."""

    session_hash: str
    email: str
    user_id: str
    directory_session: str
    started_at_ms: int
    expires_at_ms: int


@dataclass(frozen=True)
class SignInChallenge:
    """What login answers a user with a second factor: complete it at POST /v1/auth/login/mfa."""

    session: str
    expires_in: int
    challenge: str = "SOFTWARE_TOKEN_MFA"


# As long as Cognito's app client keeps a sign-in session open by default (3 minutes).
SIGN_IN_CHALLENGE_SECONDS = 180


def new_challenge_session() -> tuple[str, str]:
    """(what the client holds, the key it is stored under)."""
    session = secrets.token_urlsafe(32)
    return session, challenge_session_hash(session)


def challenge_session_hash(session: str) -> str:
    return hashlib.sha256(session.encode()).hexdigest()


def totp_uri(issuer: str, account: str, secret: str) -> str:
    """The otpauth:// address authenticator apps read (usually shown as a QR code)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": 30})
    return f"otpauth://totp/{label}?{query}"


def second_factor_missing(user: User, route_roles: frozenset[str]) -> bool:
    """An admin without a second factor may still reach the routes open to every role (their own
    account, enrolling an authenticator, signing out), never those their role opens."""
    opened_to_everyone = frozenset(role.value for role in Role) <= route_roles
    return user.role in SECOND_FACTOR_ROLES and not user.mfa_enabled and not opened_to_everyone


def admit(user: User | None, session: Session | None) -> frozenset[Role]:
    """The roles a request may act with, or SessionRejected. The role comes from the user record,
    not the token, so a role change or suspension holds for tokens already issued."""
    if user is None or session is None or session.user_id != user.user_id:
        raise SessionRejected()
    if not user.is_active or session.started_at_ms <= user.sessions_valid_after_ms:
        raise SessionRejected()
    return frozenset({user.role})


# -- login throttling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginThrottlePolicy:
    window: timedelta = timedelta(minutes=15)
    max_failures_per_account: int = 5
    # Higher: many people share one IP (offices, carrier NAT), and one of them mistyping must not
    # lock out the rest.
    max_failures_per_ip: int = 20

    def window_of(self, now: datetime) -> tuple[int, int]:
        """(window index, seconds until it ends)."""
        seconds = int(self.window.total_seconds())
        epoch = int(now.timestamp())
        return epoch // seconds, seconds - epoch % seconds

    @staticmethod
    def account_key(email: str) -> str:
        # Hashed: the counter's key must not be a list of emails people tried.
        return "account:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]

    @staticmethod
    def ip_key(ip: str) -> str:
        return f"ip:{ip}"


# -- admin actions and the audit trail ----------------------------------------------------------


class AuditAction(StrEnum):
    ROLE_CHANGED = "user.role_changed"
    SUSPENDED = "user.suspended"
    REACTIVATED = "user.reactivated"
    RECRUITER_SET = "user.recruiter_set"
    # Admin overrides on orders, written by the orders context in the change's transaction.
    ORDER_SHIPMENT_RETRIED = "order.shipment_retried"
    ORDER_SHIPMENT_CANCELLED = "order.shipment_cancelled"
    ORDER_MARKED_DELIVERED = "order.marked_delivered"
    ORDER_REFUND_REQUESTED = "order.refund_requested"
    # Admin actions on payouts, written by the payouts context in the change's transaction.
    PAYOUTS_REQUESTED = "payout.requested"
    PAYOUT_RETRIED = "payout.retried"
    PAYOUT_CANCELLED = "payout.cancelled"
    PAYEE_HELD = "payee.held"
    PAYEE_RELEASED = "payee.released"
    COMMISSION_RULE_SET = "commission.rule_set"
    # An admin's decisions on refund requests, written by the refunds context with the decision.
    REFUND_APPROVED = "refund.approved"
    REFUND_REJECTED = "refund.rejected"
    REFUND_RETRIED = "refund.retried"


@dataclass(frozen=True)
class AuditEntry:
    audit_id: str
    at: datetime
    actor_id: str
    action: AuditAction
    target_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    request_id: str
    reason: str | None = None


@dataclass(frozen=True)
class AuditQuery:
    actor_id: str | None = None
    target_id: str | None = None
    action: AuditAction | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AdminChange:
    """A change an admin makes to a user: the user after it and the audit entry recording it."""

    before: User
    after: User
    action: AuditAction
    gives_referral_code: bool = False

    @property
    def changes_anything(self) -> bool:
        return self.before.public_view() != self.after.public_view()


def change_role(actor_id: str, user: User, role: Role) -> AdminChange:
    if actor_id == user.user_id:
        raise AdminChangeRefused("Admins cannot change their own role.")
    after = replace(user, role=role, version=user.version + 1)
    gives_code = role is Role.SCOUT and user.referral_code is None
    if gives_code:
        after = replace(after, referral_code=new_referral_code())
    return AdminChange(user, after, AuditAction.ROLE_CHANGED, gives_referral_code=gives_code)


def suspend(actor_id: str, user: User, now_ms: int) -> AdminChange:
    if actor_id == user.user_id:
        raise AdminChangeRefused("Admins cannot suspend themselves.")
    after = replace(user, status=UserStatus.SUSPENDED, sessions_valid_after_ms=now_ms, version=user.version + 1)
    return AdminChange(user, after, AuditAction.SUSPENDED)


def reactivate(user: User) -> AdminChange:
    return AdminChange(user, replace(user, status=UserStatus.ACTIVE, version=user.version + 1), AuditAction.REACTIVATED)


def set_recruiter(user: User, recruiter: User | None) -> AdminChange:
    if recruiter is not None:
        if recruiter.user_id == user.user_id:
            raise AdminChangeRefused("A user cannot be their own recruiter.")
        if recruiter.role is not Role.SCOUT or not recruiter.is_active:
            raise AdminChangeRefused("The recruiter must be an active scout.")
    after = replace(user, recruiter_id=recruiter.user_id if recruiter else None, version=user.version + 1)
    return AdminChange(user, after, AuditAction.RECRUITER_SET)


@dataclass(frozen=True)
class Page:
    items: list[Any] = field(default_factory=list)
    next_position: dict[str, Any] | None = None
