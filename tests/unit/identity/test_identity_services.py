"""Identity use cases against in-memory fakes: the rules that make logout, suspension and role
changes hold, and sign-up leave nothing behind when it fails."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.identity import domain, services
from bazaar.identity.domain import (
    AccountSuspended, EmailTaken, InvalidCredentials, LoginThrottled, LoginThrottlePolicy, PasswordPolicy,
    PasswordPolicyViolated, ReferralCodeInvalid, Role, Session, SessionRejected, Tokens, User, UserStatus,
)
from bazaar.identity.tokens import AccessClaims


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, ms: int = 5) -> None:
        self.now += timedelta(milliseconds=ms)


class FakeUsers:
    def __init__(self):
        self.users: dict[str, User] = {}
        self.sessions: dict[tuple[str, str], Session] = {}
        self.audit: list = []
        self.fail_next_add = False

    def get(self, user_id):
        return self.users.get(user_id)

    def get_by_email(self, email):
        return next((u for u in self.users.values() if u.email == email), None)

    def user_id_for_sub(self, sub):
        return next((u.user_id for u in self.users.values() if u.sub == sub), None)

    def get_by_referral_code(self, code):
        return next((u for u in self.users.values() if u.referral_code == code), None)

    def add(self, user):
        if self.fail_next_add:
            raise RuntimeError("DynamoDB is down")
        if self.get_by_email(user.email):
            raise EmailTaken()
        self.users[user.user_id] = user

    def apply(self, change, entry):
        assert self.users[change.before.user_id].version == change.before.version
        self.users[change.after.user_id] = change.after
        self.audit.append(entry)

    def end_sessions(self, user_id, valid_after_ms):
        user = self.users[user_id]
        self.users[user_id] = replace(user, sessions_valid_after_ms=max(user.sessions_valid_after_ms, valid_after_ms))

    def record_session(self, session, expires_after_seconds):
        self.sessions[(session.user_id, session.session_id)] = session

    def user_and_session(self, user_id, session_id):
        return self.users.get(user_id), self.sessions.get((user_id, session_id))

    def find(self, role, status, limit, position):
        raise NotImplementedError

    def enable_mfa(self, user_id):
        self.users[user_id] = replace(self.users[user_id], mfa_enabled=True)

    def hold_sign_in(self, pending):
        self.pending = {**getattr(self, "pending", {}), pending.session_hash: pending}

    def take_sign_in(self, session_hash):
        return getattr(self, "pending", {}).pop(session_hash, None)


class ForgivingDirectory:
    """Like moto's Cognito: refresh tokens keep working after sign-out."""

    def __init__(self):
        self.accounts: dict[str, tuple[str, str, Role]] = {}
        self.totp = set()
        self.sessions = 0
        self.signed_out: list[str] = []

    def create_account(self, email, password, role):
        if email in self.accounts:
            raise EmailTaken()
        sub = f"sub-{len(self.accounts)}"
        self.accounts[email] = (sub, password, role)
        return sub

    def delete_account(self, email):
        self.accounts.pop(email, None)

    def sign_in(self, email, password):
        account = self.accounts.get(email)
        if account is None or account[1] != password:
            raise InvalidCredentials()
        if email in self.totp:
            return domain.DirectoryChallenge(directory_session=f"dir|{email}")
        return self._tokens(account[0])

    def _tokens(self, sub):
        self.sessions += 1
        return Tokens(f"access|{sub}|s{self.sessions}", "id", f"refresh|{sub}|s{self.sessions}", 3600)

    # A second factor (self.totp: the emails enrolled): the fake's one right code is TOTP_CODE.
    def answer_mfa(self, email, directory_session, code):
        if directory_session != f"dir|{email}":
            raise domain.MfaSessionInvalid()
        if code != TOTP_CODE:
            raise domain.MfaCodeInvalid()
        return self._tokens(self.accounts[email][0])

    def associate_totp(self, access_token):
        return "JBSWY3DPEHPK3PXP"

    def verify_totp(self, access_token, code):
        if code != TOTP_CODE:
            raise domain.EnrolmentCodeMismatch()
        sub = access_token.split("|")[1]
        self.totp.add(next(email for email, account in self.accounts.items() if account[0] == sub))

    def refresh(self, refresh_token):
        _, sub, session = refresh_token.split("|")
        return Tokens(f"access|{sub}|{session}", "id", None, 3600)

    def sign_out_everywhere(self, email):
        self.signed_out.append(email)

    def move_to_group(self, email, old, new):
        pass

    def set_enabled(self, email, enabled):
        pass


class FakeFailures:
    def __init__(self):
        self.counts: dict[tuple[str, int], int] = {}

    def count(self, key, window):
        return self.counts.get((key, window), 0)

    def add(self, key, window, expires_after_seconds):
        self.counts[(key, window)] = self.count(key, window) + 1

    def clear(self, key, window):
        self.counts.pop((key, window), None)


def verify(token: str) -> AccessClaims:
    _, sub, session = token.split("|")
    return AccessClaims(user_id=sub, username=sub, roles=frozenset(), issued_at=0, token_id=session)


PASSWORD = "Correct-Horse-9-battery"
TOTP_CODE = "314159"


@pytest.fixture
def world():
    clock, users, directory, failures = Clock(), FakeUsers(), ForgivingDirectory(), FakeFailures()

    def sign_up(role=Role.CUSTOMER, email=None, **extra):
        account = services.NewAccount(email=email or f"{role}{len(users.users)}@example.in", password=PASSWORD,
                                      name="N", role=role, **extra)
        return services.create_account(account, users=users, directory=directory, policy=PasswordPolicy(), now=clock)

    def sign_in(email, password=PASSWORD, ip="10.0.0.1"):
        clock.tick()
        return services.login(email, password, ip, users=users, directory=directory, failures=failures,
                              verify=verify, policy=LoginThrottlePolicy(), session_days=30, now=clock)

    def roles_of(access_token):
        return services.authorize(verify(access_token), users=users)[1]

    class World:
        pass

    w = World()
    w.clock, w.users, w.directory, w.failures = clock, users, directory, failures
    w.sign_up, w.sign_in, w.roles_of = sign_up, sign_in, roles_of
    return w


def test_logout_ends_access_and_refresh_even_if_the_directory_would_refresh(world):
    user = world.sign_up()
    phone, laptop = world.sign_in(user.email), world.sign_in(user.email)
    assert world.roles_of(phone.access_token) == {Role.CUSTOMER}

    world.clock.tick()
    services.logout(user.user_id, users=world.users, directory=world.directory, now=world.clock)

    for tokens in (phone, laptop):
        with pytest.raises(SessionRejected):
            world.roles_of(tokens.access_token)
        with pytest.raises(SessionRejected):
            services.refresh(tokens.refresh_token, users=world.users, directory=world.directory, verify=verify)
    assert world.directory.signed_out == [user.email]
    assert world.roles_of(world.sign_in(user.email).access_token) == {Role.CUSTOMER}


def test_suspension_refuses_existing_tokens_and_sign_in(world):
    admin, user = world.sign_up(Role.ADMIN), world.sign_up()
    tokens = world.sign_in(user.email)
    world.clock.tick()
    services.apply_admin_change(admin.user_id, user.user_id,
                                lambda u: domain.suspend(admin.user_id, u, services.epoch_ms(world.clock())),
                                users=world.users, directory=world.directory, request_id="r1", reason=None,
                                now=world.clock)
    with pytest.raises(SessionRejected):
        world.roles_of(tokens.access_token)
    with pytest.raises(AccountSuspended):
        world.sign_in(user.email)
    (entry,) = world.users.audit
    assert (entry.actor_id, entry.target_id, entry.request_id) == (admin.user_id, user.user_id, "r1")
    assert entry.before["status"] == "active" and entry.after["status"] == "suspended"


def test_role_comes_from_the_record_not_the_token(world):
    admin, user = world.sign_up(Role.ADMIN), world.sign_up()
    tokens = world.sign_in(user.email)
    services.apply_admin_change(admin.user_id, user.user_id, lambda u: domain.change_role(admin.user_id, u, Role.SELLER),
                                users=world.users, directory=world.directory, request_id="r", reason=None,
                                now=world.clock)
    assert world.roles_of(tokens.access_token) == {Role.SELLER}


def test_a_change_that_changes_nothing_is_not_audited(world):
    admin, user = world.sign_up(Role.ADMIN), world.sign_up()
    services.apply_admin_change(admin.user_id, user.user_id, domain.reactivate, users=world.users,
                                directory=world.directory, request_id="r", reason=None, now=world.clock)
    assert world.users.audit == []


def test_a_token_of_a_session_never_recorded_is_refused(world):
    user = world.sign_up()
    with pytest.raises(SessionRejected):
        world.roles_of(f"access|{user.sub}|s-direct")


def test_sign_up_failing_in_storage_leaves_no_directory_account(world):
    world.users.fail_next_add = True
    with pytest.raises(RuntimeError):
        world.sign_up(email="half@example.in")
    assert "half@example.in" not in world.directory.accounts


@pytest.mark.parametrize(("password", "rules"), [
    ("short1!A", {"min_length"}),
    ("alllowercase-and-long", {"uppercase", "digit"}),
    ("ALLUPPERCASE123", {"lowercase", "symbol"}),
    ("Correct-Horse-9-battery", set()),
])
def test_password_policy_names_each_rule_broken(password, rules):
    if not rules:
        PasswordPolicy().check(password)
        return
    with pytest.raises(PasswordPolicyViolated) as raised:
        PasswordPolicy().check(password)
    assert {d["issue"].split(":")[0] for d in raised.value.details} == rules


def test_referral_needs_an_active_scout(world):
    scout, customer = world.sign_up(Role.SCOUT), world.sign_up()
    assert customer.referral_code is None and scout.referral_code
    recruit = world.sign_up(Role.SELLER, referral_code=scout.referral_code)
    assert recruit.recruiter_id == scout.user_id and recruit.referral_source is domain.ReferralSource.CODE
    world.users.users[scout.user_id] = replace(scout, status=UserStatus.SUSPENDED)
    with pytest.raises(ReferralCodeInvalid):
        world.sign_up(referral_code=scout.referral_code)


def test_failed_sign_ins_throttle_the_account_and_success_clears_it(world):
    user = world.sign_up()
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            world.sign_in(user.email, "wrong")
    world.sign_in(user.email)  # the fifth try succeeds and clears the account's count
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            world.sign_in(user.email, "wrong")
    with pytest.raises(LoginThrottled) as raised:
        world.sign_in(user.email)
    assert 1 <= int(raised.value.headers["Retry-After"]) <= 900
    # Another account from another address is unaffected.
    other = world.sign_up()
    world.sign_in(other.email, ip="10.0.0.2")


def test_unknown_email_counts_against_the_ip(world):
    for n in range(20):
        with pytest.raises(InvalidCredentials):
            world.sign_in(f"nobody{n}@example.in", ip="10.9.9.9")
    with pytest.raises(LoginThrottled):
        world.sign_in("someone@example.in", ip="10.9.9.9")


def test_register_refuses_admin(world):
    account = services.NewAccount(email="a@example.in", password=PASSWORD, name="A", role=Role.ADMIN)
    with pytest.raises(Exception) as raised:
        services.register(account, users=world.users, directory=world.directory, policy=PasswordPolicy(),
                          now=world.clock)
    assert raised.value.code == "VALIDATION_FAILED"
    assert world.directory.accounts == {}


def test_owned_or_404_hides_other_peoples_objects():
    from bazaar.platform.errors import NotFound
    from bazaar.platform.ownership import owned_or_404

    order = {"id": "ord_1", "owner": "usr_a"}
    assert owned_or_404(order, lambda o: o["owner"], "usr_a", "order") is order
    with pytest.raises(NotFound) as theirs:
        owned_or_404(order, lambda o: o["owner"], "usr_b", "order")
    with pytest.raises(NotFound) as missing:
        owned_or_404(None, lambda o: o["owner"], "usr_b", "order")
    assert theirs.value.message == missing.value.message


# -- a second factor ----------------------------------------------------------------------------


def _enrolled(world, role=Role.CUSTOMER):
    user = world.sign_up(role)
    token = world.sign_in(user.email).access_token
    enrolment = services.begin_totp_enrolment(user.user_id, token, users=world.users, directory=world.directory)
    assert enrolment.uri.startswith("otpauth://totp/Bazaar:") and f"secret={enrolment.secret}" in enrolment.uri
    services.confirm_totp_enrolment(user.user_id, token, TOTP_CODE, users=world.users, directory=world.directory)
    return world.users.get(user.user_id), token


def _answer(world, session, code, ip="10.0.0.1"):
    world.clock.tick()
    return services.complete_mfa_login(session, code, ip, users=world.users, directory=world.directory,
                                       failures=world.failures, verify=verify, policy=LoginThrottlePolicy(),
                                       session_days=30, now=world.clock)


def test_an_enrolled_user_gets_a_challenge_and_its_code_begins_the_session(world):
    user, _ = _enrolled(world)
    assert user.mfa_enabled
    challenge = world.sign_in(user.email)
    assert isinstance(challenge, domain.SignInChallenge) and challenge.expires_in == domain.SIGN_IN_CHALLENGE_SECONDS
    # The client's session is not the stored key: a read of the table cannot answer a challenge.
    assert challenge.session not in world.users.pending
    tokens = _answer(world, challenge.session, TOTP_CODE)
    assert world.roles_of(tokens.access_token) == {Role.CUSTOMER}
    with pytest.raises(domain.MfaSessionInvalid):  # answered once
        _answer(world, challenge.session, TOTP_CODE)


def test_a_wrong_code_spends_the_challenge_and_counts_for_the_account_and_the_ip(world):
    user, _ = _enrolled(world)
    challenge = world.sign_in(user.email)
    with pytest.raises(domain.MfaCodeInvalid):
        _answer(world, challenge.session, "000000", ip="10.9.9.9")
    window, _ = LoginThrottlePolicy().window_of(world.clock())
    assert world.failures.count(LoginThrottlePolicy.account_key(user.email), window) == 1
    assert world.failures.count(LoginThrottlePolicy.ip_key("10.9.9.9"), window) == 1
    with pytest.raises(domain.MfaSessionInvalid):
        _answer(world, challenge.session, TOTP_CODE)


def test_a_late_or_unknown_challenge_is_refused_and_counts_for_the_ip(world):
    user, _ = _enrolled(world)
    challenge = world.sign_in(user.email)
    world.clock.tick(domain.SIGN_IN_CHALLENGE_SECONDS * 1000)
    with pytest.raises(domain.MfaSessionInvalid):
        _answer(world, challenge.session, TOTP_CODE, ip="10.8.8.8")
    with pytest.raises(domain.MfaSessionInvalid):
        _answer(world, "made-up-session-of-some-length", TOTP_CODE, ip="10.8.8.8")
    window, _ = LoginThrottlePolicy().window_of(world.clock())
    assert world.failures.count(LoginThrottlePolicy.ip_key("10.8.8.8"), window) == 2


def test_a_throttled_account_cannot_answer_its_challenge(world):
    user, _ = _enrolled(world)
    challenge = world.sign_in(user.email)
    for _ in range(LoginThrottlePolicy().max_failures_per_account):
        with pytest.raises(InvalidCredentials):
            world.sign_in(user.email, password="wrong")
    with pytest.raises(LoginThrottled):
        _answer(world, challenge.session, TOTP_CODE)


def test_enrolment_needs_the_right_first_code_and_happens_once(world):
    user = world.sign_up()
    token = world.sign_in(user.email).access_token
    services.begin_totp_enrolment(user.user_id, token, users=world.users, directory=world.directory)
    with pytest.raises(domain.EnrolmentCodeMismatch):
        services.confirm_totp_enrolment(user.user_id, token, "000000", users=world.users, directory=world.directory)
    assert not world.users.get(user.user_id).mfa_enabled
    services.confirm_totp_enrolment(user.user_id, token, TOTP_CODE, users=world.users, directory=world.directory)
    with pytest.raises(domain.MfaAlreadyEnabled):
        services.begin_totp_enrolment(user.user_id, token, users=world.users, directory=world.directory)


EVERY_ROLE = frozenset(role.value for role in Role)


@pytest.mark.parametrize(("role", "mfa", "route_roles", "missing"), [
    (Role.ADMIN, False, frozenset({"admin"}), True),
    (Role.ADMIN, False, frozenset({"customer", "admin"}), True),  # an admin reads any order as an admin
    (Role.ADMIN, False, EVERY_ROLE, False),  # their own account, enrolling, signing out
    (Role.ADMIN, True, frozenset({"admin"}), False),
    (Role.CUSTOMER, False, frozenset({"customer", "admin"}), False),  # opting in is the customer's choice
])
def test_admins_need_a_second_factor_for_every_route_their_role_opens(world, role, mfa, route_roles, missing):
    user = replace(world.sign_up(role), mfa_enabled=mfa)
    assert domain.second_factor_missing(user, route_roles) is missing


def test_the_otpauth_address_names_the_issuer_and_account():
    uri = domain.totp_uri("Bazaar", "asha+shop@example.in", "JBSWY3DPEHPK3PXP")
    assert uri.startswith("otpauth://totp/Bazaar:asha%2Bshop@example.in?")
    assert "secret=JBSWY3DPEHPK3PXP" in uri and "issuer=Bazaar" in uri and "digits=6" in uri and "period=30" in uri
