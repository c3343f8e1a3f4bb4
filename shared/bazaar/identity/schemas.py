"""API shapes of the identity context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bazaar.identity.domain import EMAIL_PATTERN, REFERRAL_CODE_PATTERN, AuditEntry, SignInChallenge, Tokens, User
from bazaar.platform.ids import id_pattern

RoleName = Literal["customer", "seller", "scout", "admin"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")  # no mass assignment: unknown fields are refused


def _printable_text(value: str) -> str:
    """Names are shown to other people: no control characters, no unpaired surrogates."""
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError("must not contain control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class RegisterIn(_In):
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    name: Annotated[str, AfterValidator(_printable_text)] = Field(min_length=1, max_length=100)
    role: Literal["customer", "seller", "scout"]
    referral_code: str | None = Field(default=None, pattern=REFERRAL_CODE_PATTERN)
    # How the new user came by the code: typed in, or through the scout's shareable link.
    referral_source: Literal["code", "link"] | None = None


class LoginIn(_In):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(_In):
    refresh_token: str = Field(min_length=1, max_length=8192)


# What authenticator apps show: six digits.
TOTP_CODE_PATTERN = r"^[0-9]{6}$"


class LoginMfaIn(_In):
    session: str = Field(min_length=20, max_length=200)
    code: str = Field(pattern=TOTP_CODE_PATTERN)


class TotpVerifyIn(_In):
    code: str = Field(pattern=TOTP_CODE_PATTERN)


class SignInChallengeOut(BaseModel):
    """Login's answer for an account with a second factor: send `session` and the authenticator's
    code to POST /v1/auth/login/mfa within `expires_in` seconds."""

    challenge: Literal["SOFTWARE_TOKEN_MFA"]
    session: str
    expires_in: int

    @classmethod
    def of(cls, challenge: SignInChallenge) -> SignInChallengeOut:
        return cls(challenge="SOFTWARE_TOKEN_MFA", session=challenge.session, expires_in=challenge.expires_in)


class TotpEnrolmentOut(BaseModel):
    """The authenticator's secret (base32) and the otpauth:// address a QR code shows; enrolment
    ends when POST /v1/me/mfa/totp/verify accepts a code made from it."""

    secret: str
    otpauth_uri: str


class MfaStatusOut(BaseModel):
    mfa_enabled: bool
    method: Literal["totp"] | None


class TokensOut(BaseModel):
    access_token: str
    id_token: str
    refresh_token: str | None = None
    expires_in: int
    token_type: Literal["Bearer"] = "Bearer"

    @classmethod
    def of(cls, tokens: Tokens, with_refresh: bool = True) -> TokensOut:
        return cls(
            access_token=tokens.access_token,
            id_token=tokens.id_token,
            refresh_token=tokens.refresh_token if with_refresh else None,
            expires_in=tokens.expires_in,
        )


class UserOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: RoleName
    status: Literal["active", "suspended"]
    created_at: datetime
    recruiter_id: str | None = None
    referral_source: Literal["code", "link"] | None = None
    referral_code: str | None = None  # scouts only
    mfa_enabled: bool = False

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            role=user.role.value,
            status=user.status.value,
            created_at=user.created_at.replace(microsecond=0),
            recruiter_id=user.recruiter_id,
            referral_source=user.referral_source.value if user.referral_source else None,
            referral_code=user.referral_code,
            mfa_enabled=user.mfa_enabled,
        )


class ReferralOut(BaseModel):
    referral_code: str
    referral_link: str


class UserListOut(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class RoleChangeIn(_In):
    role: RoleName
    reason: str | None = Field(default=None, max_length=500)


class ReasonIn(_In):
    reason: str | None = Field(default=None, max_length=500)


class RecruiterIn(_In):
    recruiter_id: str | None = Field(pattern=id_pattern("usr"))  # null clears it
    reason: str | None = Field(default=None, max_length=500)


class AuditEntryOut(BaseModel):
    audit_id: str
    at: datetime
    actor_id: str
    action: str
    target_id: str
    before: dict
    after: dict
    request_id: str
    reason: str | None = None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            audit_id=entry.audit_id, at=entry.at, actor_id=entry.actor_id, action=entry.action.value,
            target_id=entry.target_id, before=entry.before, after=entry.after, request_id=entry.request_id,
            reason=entry.reason,
        )


class AuditListOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
