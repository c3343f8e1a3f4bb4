"""Use cases of the identity context: sign-up, sign-in, refresh, sign-out, the checks every
request passes through, and what admins do to users (each change audited in its transaction)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bazaar.identity.domain import (
    SELF_REGISTERABLE,
    AccountSuspended,
    AdminChange,
    AuditEntry,
    AuditQuery,
    DirectoryChallenge,
    InvalidCredentials,
    LoginThrottled,
    LoginThrottlePolicy,
    MfaAlreadyEnabled,
    MfaCodeInvalid,
    MfaSessionInvalid,
    Page,
    PasswordPolicy,
    PendingSignIn,
    ReferralCodeInvalid,
    ReferralSource,
    Role,
    Session,
    SessionRejected,
    SIGN_IN_CHALLENGE_SECONDS,
    SignInChallenge,
    Tokens,
    User,
    UserNotFound,
    UserStatus,
    EmailTaken,
    admit,
    challenge_session_hash,
    new_challenge_session,
    new_referral_code,
    normalise_email,
    totp_uri,
)
from bazaar.identity.ports import AuditTrail, Directory, FailedLogins, Users
from bazaar.identity.tokens import AccessClaims, InvalidToken
from bazaar.platform.clock import Clock
from bazaar.platform.errors import BazaarError
from bazaar.platform.ids import new_id
from bazaar.platform.observability import logger

Verify = Callable[[str], AccessClaims]


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# -- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    name: str
    role: Role
    referral_code: str | None = None
    referral_source: ReferralSource | None = None


def register(account: NewAccount, *, users: Users, directory: Directory, policy: PasswordPolicy,
             now: Clock) -> User:
    """Sign-up through the API: any role but admin."""
    if account.role not in SELF_REGISTERABLE:
        raise BazaarError("This role cannot be chosen at sign-up.", code="VALIDATION_FAILED",
                          details=[{"field": "role", "issue": "must be customer, seller or scout"}])
    return create_account(account, users=users, directory=directory, policy=policy, now=now)


def create_account(account: NewAccount, *, users: Users, directory: Directory, policy: PasswordPolicy,
                   now: Clock) -> User:
    """Creates the account in the directory and the user in Bazaar, or neither. Also how admins
    are made (the local seeding, or an operator), since sign-up refuses that role."""
    email = normalise_email(account.email)
    policy.check(account.password)
    recruiter = None
    if account.referral_code:
        recruiter = users.get_by_referral_code(account.referral_code)
        if recruiter is None or recruiter.role is not Role.SCOUT or not recruiter.is_active:
            raise ReferralCodeInvalid()
    if users.get_by_email(email) is not None:
        raise EmailTaken()
    sub = directory.create_account(email, account.password, account.role)
    user = User(
        user_id=new_id("usr"),
        sub=sub,
        email=email,
        name=account.name.strip(),
        role=account.role,
        status=UserStatus.ACTIVE,
        created_at=now(),
        recruiter_id=recruiter.user_id if recruiter else None,
        referral_source=(account.referral_source or ReferralSource.CODE) if recruiter else None,
        referred_with_code=account.referral_code if recruiter else None,
        referral_code=new_referral_code() if account.role is Role.SCOUT else None,
    )
    try:
        users.add(user)
    except BaseException:
        # Nothing created on failure: take the directory account back out.
        directory.delete_account(email)
        raise
    return user


# -- sessions -----------------------------------------------------------------------------------


def _counters(email: str, source_ip: str, policy: LoginThrottlePolicy) -> tuple[tuple[str, int], ...]:
    return (
        (policy.account_key(email), policy.max_failures_per_account),
        (policy.ip_key(source_ip), policy.max_failures_per_ip),
    )


def _refuse_if_throttled(failures: FailedLogins, counters, window: int, retry_after: int) -> None:
    for key, limit in counters:
        if failures.count(key, window) >= limit:
            raise LoginThrottled(retry_after)


def _count_failure(failures: FailedLogins, counters, window: int, retry_after: int) -> None:
    for key, _ in counters:
        failures.add(key, window, expires_after_seconds=retry_after + 60)


def login(email: str, password: str, source_ip: str, *, users: Users, directory: Directory,
          failures: FailedLogins, verify: Verify, policy: LoginThrottlePolicy, session_days: int,
          now: Clock) -> Tokens | SignInChallenge:
    """Tokens, or, for a user with a second factor, a challenge that complete_mfa_login answers."""
    started = now()
    window, retry_after = policy.window_of(started)
    counters = _counters(email, source_ip, policy)
    _refuse_if_throttled(failures, counters, window, retry_after)
    try:
        answer = directory.sign_in(normalise_email(email), password)
    except InvalidCredentials:
        _count_failure(failures, counters, window, retry_after)
        raise
    if isinstance(answer, DirectoryChallenge):
        return _challenge(normalise_email(email), answer, epoch_ms(started), users=users)
    tokens = _begin_session(answer, epoch_ms(started), users=users, verify=verify, session_days=session_days)
    failures.clear(counters[0][0], window)
    return tokens


def _challenge(email: str, answer: DirectoryChallenge, started_at_ms: int, *, users: Users) -> SignInChallenge:
    user = users.get_by_email(email)
    if user is None:
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountSuspended()
    session, session_hash = new_challenge_session()
    users.hold_sign_in(PendingSignIn(
        session_hash=session_hash, email=email, user_id=user.user_id,
        directory_session=answer.directory_session, started_at_ms=started_at_ms,
        expires_at_ms=started_at_ms + SIGN_IN_CHALLENGE_SECONDS * 1000,
    ))
    return SignInChallenge(session=session, expires_in=SIGN_IN_CHALLENGE_SECONDS)


def complete_mfa_login(session: str, code: str, source_ip: str, *, users: Users, directory: Directory,
                       failures: FailedLogins, verify: Verify, policy: LoginThrottlePolicy, session_days: int,
                       now: Clock) -> Tokens:
    """The second step of a sign-in: the one-time code for a challenge login answered. A challenge
    is answered once: right or wrong, it is spent (a wrong code means signing in again), and a
    wrong code counts as a failed sign-in of the account and the IP."""
    at = now()
    window, retry_after = policy.window_of(at)
    by_ip = ((policy.ip_key(source_ip), policy.max_failures_per_ip),)
    _refuse_if_throttled(failures, by_ip, window, retry_after)
    pending = users.take_sign_in(challenge_session_hash(session))
    if pending is None or pending.expires_at_ms <= epoch_ms(at):
        # Guessing sessions is a failed sign-in of the IP (no account is known).
        _count_failure(failures, by_ip, window, retry_after)
        raise MfaSessionInvalid()
    counters = _counters(pending.email, source_ip, policy)
    _refuse_if_throttled(failures, counters, window, retry_after)
    try:
        tokens = directory.answer_mfa(pending.email, pending.directory_session, code)
    except MfaCodeInvalid:
        _count_failure(failures, counters, window, retry_after)
        raise
    tokens = _begin_session(tokens, pending.started_at_ms, users=users, verify=verify, session_days=session_days)
    failures.clear(counters[0][0], window)
    return tokens


def _begin_session(tokens: Tokens, started_at_ms: int, *, users: Users, verify: Verify, session_days: int) -> Tokens:
    claims = _verified(tokens, verify)
    user_id = users.user_id_for_sub(claims.user_id)
    user = users.get(user_id) if user_id else None
    if user is None:
        # A directory account with no Bazaar user (a sign-up that failed half-way): no entry.
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountSuspended()
    # The session starts when the sign-in began, so a logout racing this sign-in still ends it.
    users.record_session(Session(user.user_id, claims.token_id, started_at_ms),
                         expires_after_seconds=session_days * 86400)
    return tokens


# -- a second factor ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str


TOTP_ISSUER = "Bazaar"


def begin_totp_enrolment(user_id: str, access_token: str, *, users: Users, directory: Directory) -> TotpEnrolment:
    """A new authenticator secret for the caller. Refused once one is enrolled: replacing the
    factor would need only a stolen access token, so it is an operator's reset instead."""
    user = me(user_id, users=users)
    if user.mfa_enabled:
        raise MfaAlreadyEnabled()
    secret = directory.associate_totp(access_token)
    return TotpEnrolment(secret=secret, uri=totp_uri(TOTP_ISSUER, user.email, secret))


def confirm_totp_enrolment(user_id: str, access_token: str, code: str, *, users: Users,
                           directory: Directory) -> User:
    """The first code from the authenticator: from now on every sign-in asks for one."""
    user = me(user_id, users=users)
    if user.mfa_enabled:
        raise MfaAlreadyEnabled()
    directory.verify_totp(access_token, code)
    users.enable_mfa(user_id)
    return me(user_id, users=users)


def refresh(refresh_token: str, *, users: Users, directory: Directory, verify: Verify) -> Tokens:
    """New tokens, but only for a session that logout or suspension has not ended: the directory
    alone would keep honouring the refresh token."""
    tokens = directory.refresh(refresh_token)
    claims = _verified(tokens, verify)
    authorize(claims, users=users)
    return tokens


def logout(user_id: str, *, users: Users, directory: Directory, now: Clock) -> None:
    """Ends every session of the user: their access and refresh tokens are refused from now on."""
    user = users.get(user_id)
    if user is None:
        raise SessionRejected()
    users.end_sessions(user_id, epoch_ms(now()))
    _best_effort(directory.sign_out_everywhere, user.email)


def authorize(claims: AccessClaims, *, users: Users, user_id_for_sub: Callable[[str], str | None] | None = None
              ) -> tuple[User, frozenset[Role]]:
    """What every request with a token passes through (the authorizer, and refresh)."""
    user_id = (user_id_for_sub or users.user_id_for_sub)(claims.user_id)
    if user_id is None:
        raise SessionRejected()
    user, session = users.user_and_session(user_id, claims.token_id)
    roles = admit(user, session)
    assert user is not None
    return user, roles


def _verified(tokens: Tokens, verify: Verify) -> AccessClaims:
    try:
        return verify(tokens.access_token)
    except InvalidToken:
        raise SessionRejected() from None


# -- the caller's own account -------------------------------------------------------------------


def me(user_id: str, *, users: Users) -> User:
    user = users.get(user_id)
    if user is None:
        raise UserNotFound()
    return user


# -- admin --------------------------------------------------------------------------------------


def find_users(*, users: Users, email: str | None, role: Role | None, status: UserStatus | None,
               limit: int, position: dict[str, Any] | None) -> Page:
    if email:
        user = users.get_by_email(normalise_email(email))
        matches = user is not None and role in (None, user.role) and status in (None, user.status)
        return Page(items=[user] if matches else [])
    return users.find(role, status, limit, position)


def get_user(user_id: str, *, users: Users) -> User:
    return me(user_id, users=users)


def recruiter_for(recruiter_id: str | None, *, users: Users) -> User | None:
    if recruiter_id is None:
        return None
    recruiter = users.get(recruiter_id)
    if recruiter is None:
        raise UserNotFound()
    return recruiter


def apply_admin_change(actor_id: str, target_id: str, decide: Callable[[User], AdminChange], *,
                       users: Users, directory: Directory, request_id: str, reason: str | None,
                       now: Clock) -> User:
    """Loads the user, lets `decide` make the change, and writes it with its audit entry in one
    transaction. A change that changes nothing writes nothing (repeating a suspend is harmless)."""
    user = users.get(target_id)
    if user is None:
        raise UserNotFound()
    change = decide(user)
    if not change.changes_anything:
        return user
    entry = AuditEntry(
        audit_id=new_id("aud"),
        at=now(),
        actor_id=actor_id,
        action=change.action,
        target_id=user.user_id,
        before=change.before.public_view(),
        after=change.after.public_view(),
        request_id=request_id,
        reason=reason,
    )
    users.apply(change, entry)
    _mirror(change, directory)
    return change.after


def _mirror(change: AdminChange, directory: Directory) -> None:
    """Keep the directory in step after the commit. Bazaar's record is what every request is
    checked against, so a directory hiccup here cannot reopen access; it is logged for a retry."""
    before, after = change.before, change.after
    if before.role is not after.role:
        _best_effort(directory.move_to_group, after.email, before.role, after.role)
    if before.status is not after.status:
        _best_effort(directory.set_enabled, after.email, after.is_active)
        if not after.is_active:
            _best_effort(directory.sign_out_everywhere, after.email)


def find_audit(query: AuditQuery, *, trail: AuditTrail, limit: int, position: dict[str, Any] | None) -> Page:
    return trail.find(query, limit, position)


def _best_effort(call: Callable[..., None], *args: Any) -> None:
    try:
        call(*args)
    except Exception as error:  # noqa: BLE001 - see the callers: Bazaar's record already holds
        logger.warning("directory update failed", extra={"call": call.__name__, "error": type(error).__name__})
