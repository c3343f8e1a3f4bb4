"""What the identity use cases need from the outside world."""

from __future__ import annotations

from typing import Any, Protocol

from bazaar.identity.domain import (
    AdminChange, AuditEntry, AuditQuery, DirectoryChallenge, Page, PendingSignIn, Role, Session, Tokens, User,
    UserStatus,
)


class Users(Protocol):
    def get(self, user_id: str) -> User | None: ...

    def get_by_email(self, email: str) -> User | None: ...

    def user_id_for_sub(self, sub: str) -> str | None: ...

    def get_by_referral_code(self, code: str) -> User | None: ...

    def add(self, user: User) -> None:
        """The user, their email's claim, the sub pointer and a scout's code, in one transaction;
        EmailTaken if the email is claimed, nothing written."""

    def apply(self, change: AdminChange, entry: AuditEntry) -> None:
        """The admin change and its audit entry in one transaction, conditional on the version the
        change was made from; Conflict if someone else changed the user first."""

    def end_sessions(self, user_id: str, valid_after_ms: int) -> None: ...

    def find(self, role: Role | None, status: UserStatus | None, limit: int,
             position: dict[str, Any] | None) -> Page: ...

    def record_session(self, session: Session, expires_after_seconds: int) -> None: ...

    def user_and_session(self, user_id: str, session_id: str) -> tuple[User | None, Session | None]:
        """Both read consistently: a logout or suspension is seen by the next request."""

    def enable_mfa(self, user_id: str) -> None: ...

    def hold_sign_in(self, pending: PendingSignIn) -> None: ...

    def take_sign_in(self, session_hash: str) -> PendingSignIn | None:
        """Removes and returns the pending sign-in, so one challenge is answered at most once."""


class Directory(Protocol):
    """The account store that holds passwords and issues tokens (Cognito)."""

    def create_account(self, email: str, password: str, role: Role) -> str:
        """Returns the account's sub. EmailTaken / PasswordPolicyViolated."""

    def delete_account(self, email: str) -> None: ...

    def sign_in(self, email: str, password: str) -> Tokens | DirectoryChallenge:
        """Tokens, or a challenge for the user's one-time code. InvalidCredentials on any refusal
        (unknown email and wrong password alike)."""

    def answer_mfa(self, email: str, directory_session: str, code: str) -> Tokens:
        """MfaCodeInvalid for a wrong code, MfaSessionInvalid for a session the directory refuses."""

    def associate_totp(self, access_token: str) -> str:
        """A new TOTP secret (base32) for the token's user, not in use until verified."""

    def verify_totp(self, access_token: str, code: str) -> None:
        """Verifies the code against the new secret and makes TOTP the user's second factor;
        EnrolmentCodeMismatch for a wrong code."""

    def refresh(self, refresh_token: str) -> Tokens:
        """SessionRejected if the refresh token is not accepted."""

    def sign_out_everywhere(self, email: str) -> None: ...

    def move_to_group(self, email: str, old: Role, new: Role) -> None: ...

    def set_enabled(self, email: str, enabled: bool) -> None: ...


class FailedLogins(Protocol):
    def count(self, key: str, window: int) -> int: ...

    def add(self, key: str, window: int, expires_after_seconds: int) -> None: ...

    def clear(self, key: str, window: int) -> None: ...


class AuditTrail(Protocol):
    def find(self, query: AuditQuery, limit: int, position: dict[str, Any] | None) -> Page: ...
