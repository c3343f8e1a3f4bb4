"""A second factor over HTTP: enrolling an authenticator app (TOTP), the sign-in challenge and its
refusals, and admins reaching admin routes only once enrolled. Codes are made with pyotp from the
secret the API handed out, as an authenticator app makes them; the local twin checks them against
that secret as Cognito does."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from tests.e2e.identity_helpers import PASSWORD, get, login, post, register, registered_and_signed_in


def _enrol(api: str, token: str) -> str:
    enrolment = post(f"{api}/v1/me/mfa/totp", token=token)
    assert enrolment.status_code == 200, enrolment.text
    body = enrolment.json()
    uri = urlsplit(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    verified = post(f"{api}/v1/me/mfa/totp/verify", {"code": pyotp.TOTP(body["secret"]).now()}, token=token)
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"mfa_enabled": True, "method": "totp"}
    return body["secret"]


def _challenge(api: str, email: str) -> dict:
    answer = post(f"{api}/v1/auth/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["challenge"] == "SOFTWARE_TOKEN_MFA" and "access_token" not in body, body
    assert body["expires_in"] > 0
    return body


# Refused sign-ins count against their IP too: this file's are sent from an address of their own
# (all of 127/8 is loopback), so other tests' address never reaches the limit.
FAILING_IP = "127.0.0.4"


@dataclass
class Answer:
    status_code: int
    headers: dict
    text: str

    def json(self):
        return json.loads(self.text)


def post_from(api: str, path: str, body: dict) -> Answer:
    target = urlsplit(api)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30, source_address=(FAILING_IP, 0))
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return Answer(answer.status, dict(answer.getheaders()), answer.read().decode())
    finally:
        connection.close()


def _wrong(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    # Not the code of any step the check accepts (the current one and one either side).
    accepted = {totp.at(time.time() + offset) for offset in (-30, 0, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1000)) if code not in accepted)


def _envelope(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["request_id"], error


def test_an_enrolled_customer_signs_in_with_the_code_of_their_own_secret(api):
    user, tokens = registered_and_signed_in(api, "customer")
    secret = _enrol(api, tokens["access_token"])
    assert get(f"{api}/v1/me", token=tokens["access_token"]).json()["mfa_enabled"] is True

    challenge = _challenge(api, user["email"])
    signed_in = post(f"{api}/v1/auth/login/mfa", {"session": challenge["session"],
                                                  "code": pyotp.TOTP(secret).now()})
    assert signed_in.status_code == 200, signed_in.text
    assert set(signed_in.json()) >= {"access_token", "id_token", "refresh_token", "expires_in"}
    me = get(f"{api}/v1/me", token=signed_in.json()["access_token"])
    assert me.status_code == 200 and me.json()["user_id"] == user["user_id"]

    # The challenge is spent: the same session and code again is refused.
    replayed = post_from(api, "/v1/auth/login/mfa", {"session": challenge["session"], "code": pyotp.TOTP(secret).now()})
    _envelope(replayed, 401, "MFA_SESSION_INVALID")


def test_a_code_of_another_users_secret_is_refused(api):
    first, first_tokens = registered_and_signed_in(api, "customer")
    _, second_tokens = registered_and_signed_in(api, "customer")
    first_secret, second_secret = _enrol(api, first_tokens["access_token"]), _enrol(api, second_tokens["access_token"])
    assert first_secret != second_secret  # every user gets a secret of their own

    challenge = _challenge(api, first["email"])
    code = pyotp.TOTP(second_secret).now()
    if code == pyotp.TOTP(first_secret).now():
        pytest.skip("the two secrets happen to give the same code this step")
    _envelope(post_from(api, "/v1/auth/login/mfa", {"session": challenge["session"], "code": code}), 401,
              "MFA_CODE_INVALID")


def test_a_wrong_code_is_refused_spends_the_challenge_and_counts_as_a_failed_sign_in(api):
    user, tokens = registered_and_signed_in(api, "seller")
    secret = _enrol(api, tokens["access_token"])
    challenge = _challenge(api, user["email"])
    wrong = post_from(api, "/v1/auth/login/mfa", {"session": challenge["session"], "code": _wrong(secret)})
    _envelope(wrong, 401, "MFA_CODE_INVALID")
    # Spent: even the right code no longer completes it.
    late = post_from(api, "/v1/auth/login/mfa", {"session": challenge["session"], "code": pyotp.TOTP(secret).now()})
    _envelope(late, 401, "MFA_SESSION_INVALID")

    # Five failed sign-ins of the account (this wrong code and four wrong passwords) lock it for the window.
    for _ in range(4):
        refused = post_from(api, "/v1/auth/login", {"email": user["email"], "password": PASSWORD + "x"})
        assert refused.status_code == 401, refused.text
    throttled = post(f"{api}/v1/auth/login", {"email": user["email"], "password": PASSWORD})
    _envelope(throttled, 429, "THROTTLED")
    assert int(throttled.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("session", ["x" * 43, "not-a-session-but-long-enough", "A" * 200])
def test_a_garbage_session_is_refused(api, session):
    _envelope(post_from(api, "/v1/auth/login/mfa", {"session": session, "code": "123456"}), 401, "MFA_SESSION_INVALID")


def test_a_code_that_is_not_six_digits_is_refused_at_the_edge(api):
    response = post(f"{api}/v1/auth/login/mfa", {"session": "x" * 43, "code": "12345a"})
    _envelope(response, 400, "VALIDATION_FAILED")
    assert response.json()["error"]["details"][0]["field"] == "code"


def test_enrolment_refuses_a_wrong_code_and_a_second_enrolment(api):
    user, tokens = registered_and_signed_in(api, "scout")
    token = tokens["access_token"]
    secret = post(f"{api}/v1/me/mfa/totp", token=token).json()["secret"]
    _envelope(post(f"{api}/v1/me/mfa/totp/verify", {"code": _wrong(secret)}, token=token), 400, "VALIDATION_FAILED")
    assert get(f"{api}/v1/me", token=token).json()["mfa_enabled"] is False
    # Not enrolled yet, so a sign-in still answers tokens.
    assert "access_token" in login(api, user["email"])

    _enrol(api, token)
    _envelope(post(f"{api}/v1/me/mfa/totp", token=token), 409, "MFA_ALREADY_ENABLED")


def test_a_customer_without_a_second_factor_signs_in_as_before(api):
    user = register(api, "customer")
    tokens = login(api, user["email"])
    assert set(tokens) >= {"access_token", "id_token", "refresh_token", "expires_in", "token_type"}
    assert get(f"{api}/v1/me", token=tokens["access_token"]).json()["mfa_enabled"] is False


def test_an_admin_without_a_second_factor_reaches_only_their_own_account_until_enrolled(api, local_stack):
    email = f"new-admin-{uuid.uuid4().hex[:8]}@example.in"
    admin_id = local_stack.create_account("customer", email, PASSWORD)
    # Made admin by another admin, as a role change does: no authenticator yet.
    seeded_admin = login(api, **local_stack.accounts["admin"])["access_token"]
    promoted = post(f"{api}/v1/admin/users/{admin_id}/role", {"role": "admin"}, token=seeded_admin)
    assert promoted.status_code == 200, promoted.text

    token = login(api, email)["access_token"]  # no challenge: nothing enrolled
    for path in ("/v1/admin/users", "/v1/admin/diagnostics", f"/v1/orders/ord_{'0' * 26}"):
        _envelope(get(f"{api}{path}", token=token), 403, "MFA_REQUIRED")
    assert get(f"{api}/v1/me", token=token).status_code == 200

    secret = _enrol(api, token)
    # Enrolled: the next sign-in asks for the code, and its tokens reach admin routes.
    challenge = _challenge(api, email)
    admin = post(f"{api}/v1/auth/login/mfa", {"session": challenge["session"], "code": pyotp.TOTP(secret).now()})
    assert admin.status_code == 200, admin.text
    assert get(f"{api}/v1/admin/users", token=admin.json()["access_token"]).status_code == 200


def test_the_seeded_admin_has_a_second_factor_and_its_secret_is_written_for_scripts(local_stack, api):
    account = local_stack.accounts["admin"]
    written = json.loads((local_stack.config.state_dir / "local-accounts.json").read_text())
    assert written["admin"]["totp_secret"] == account["totp_secret"]
    assert "totp_secret" not in written["customer"]
    # The password alone gives no tokens; the code made from the written secret does.
    answer = post(f"{api}/v1/auth/login", {"email": account["email"], "password": account["password"]}).json()
    assert answer["challenge"] == "SOFTWARE_TOKEN_MFA" and "access_token" not in answer
    assert "access_token" in login(api, **account)
