"""Sign-up, sign-in, refresh and sign-out over HTTP against the local stack, and the tokens the
gateway refuses."""

from __future__ import annotations

import gzip
import json
import time
from importlib import resources

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.identity_helpers import PASSWORD, get, login, post, register, registered_and_signed_in, unique_email


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["request_id"] == response.headers["X-Request-Id"]
    return body["error"]


def test_register_login_refresh_logout_then_old_tokens_are_refused(api):
    user = register(api, "customer", name="Asha Verma")
    assert user["user_id"].startswith("usr_") and user["role"] == "customer" and user["status"] == "active"
    assert "password" not in json.dumps({k: v for k, v in user.items() if k != "password"})

    signed_in = login(api, user["email"])
    assert signed_in["token_type"] == "Bearer" and signed_in["expires_in"] > 0
    assert {"access_token", "id_token", "refresh_token"} <= set(signed_in)
    me = get(f"{api}/v1/me", signed_in["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == user["user_id"] and me.json()["name"] == "Asha Verma"

    refreshed = post(f"{api}/v1/auth/refresh", {"refresh_token": signed_in["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new_access = refreshed.json()["access_token"]
    assert new_access != signed_in["access_token"]
    assert get(f"{api}/v1/me", new_access).status_code == 200

    logout = post(f"{api}/v1/auth/logout", token=new_access)
    assert logout.status_code == 204, logout.text

    for token in (signed_in["access_token"], new_access):
        refused = get(f"{api}/v1/me", token)
        assert refused.status_code == 401
        assert _error(refused)["code"] == "UNAUTHORIZED"
    again = post(f"{api}/v1/auth/refresh", {"refresh_token": signed_in["refresh_token"]})
    assert again.status_code == 401
    assert _error(again)["code"] == "UNAUTHORIZED"
    # Signing in again afterwards starts a new, working session.
    assert get(f"{api}/v1/me", login(api, user["email"])["access_token"]).status_code == 200


def test_weak_password_names_the_rules_and_creates_nothing(api, local_stack):
    email = unique_email("weak")
    response = post(f"{api}/v1/auth/register",
                    {"email": email, "password": "alllowercase", "name": "W", "role": "seller"})
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "PASSWORD_POLICY"
    issues = " ".join(d["issue"] for d in error["details"])
    for rule in ("uppercase", "digit", "symbol"):
        assert rule in error["message"] and rule in issues
    assert "min_length" not in error["message"] and "lowercase" not in error["message"]

    cognito = local_stack.client("cognito-idp")
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=local_stack.names.pool_id, Username=email)
    claim = local_stack.client("dynamodb").get_item(
        TableName=local_stack.names.table_name("identity"), Key={"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}}
    )
    assert "Item" not in claim


def test_short_password_is_refused_for_length(api):
    response = post(f"{api}/v1/auth/register",
                    {"email": unique_email(), "password": "Ab1!short", "name": "S", "role": "customer"})
    assert response.status_code == 400
    assert "min_length" in _error(response)["message"]


def test_duplicate_email_is_409_whatever_its_case(api):
    user = register(api, "customer")
    response = post(f"{api}/v1/auth/register",
                    {"email": user["email"].upper(), "password": PASSWORD, "name": "Again", "role": "seller"})
    assert response.status_code == 409
    assert _error(response)["code"] == "EMAIL_ALREADY_REGISTERED"
    # the first account is untouched
    assert get(f"{api}/v1/me", login(api, user["email"])["access_token"]).json()["role"] == "customer"


@pytest.mark.parametrize("body", [
    {"role": "admin"},
    {"role": "customer", "is_admin": True},
    {"role": "customer", "status": "active"},
])
def test_sign_up_cannot_choose_admin_or_set_other_fields(api, body):
    response = post(f"{api}/v1/auth/register",
                    {"email": unique_email(), "password": PASSWORD, "name": "M", **body})
    assert response.status_code == 400
    assert _error(response)["code"] == "VALIDATION_FAILED"


def test_referral_code_links_the_recruit_to_the_scout(api):
    scout, scout_tokens = registered_and_signed_in(api, "scout")
    referral = get(f"{api}/v1/scouts/me/referral", scout_tokens["access_token"])
    assert referral.status_code == 200, referral.text
    code = referral.json()["referral_code"]
    assert code == scout["referral_code"]
    assert referral.json()["referral_link"].endswith(f"?ref={code}")

    by_link = register(api, "seller", referral_code=code, referral_source="link")
    by_code = register(api, "customer", referral_code=code)
    assert (by_link["recruiter_id"], by_link["referral_source"]) == (scout["user_id"], "link")
    assert (by_code["recruiter_id"], by_code["referral_source"]) == (scout["user_id"], "code")


def test_unknown_referral_code_is_400_and_creates_nothing(api):
    email = unique_email()
    response = post(f"{api}/v1/auth/register", {"email": email, "password": PASSWORD, "name": "R",
                                                "role": "customer", "referral_code": "ZZZZZZZZ"})
    assert response.status_code == 400
    assert _error(response)["code"] == "REFERRAL_CODE_INVALID"
    refused = post(f"{api}/v1/auth/login", {"email": email, "password": PASSWORD})
    assert refused.status_code == 401


def test_wrong_password_and_unknown_email_get_the_same_answer(api):
    user = register(api, "customer")
    wrong = post(f"{api}/v1/auth/login", {"email": user["email"], "password": PASSWORD + "x"})
    unknown = post(f"{api}/v1/auth/login", {"email": unique_email("nobody"), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    first, second = _error(wrong), _error(unknown)
    assert (first["code"], first["message"]) == (second["code"], second["message"]) == (
        "INVALID_CREDENTIALS", "The email or password is incorrect.")


def test_repeated_failures_throttle_the_account_even_with_the_right_password(api):
    user = register(api, "seller")
    for _ in range(5):
        assert post(f"{api}/v1/auth/login", {"email": user["email"], "password": "Wrong-pass-123"}).status_code == 401
    throttled = post(f"{api}/v1/auth/login", {"email": user["email"], "password": PASSWORD})
    assert throttled.status_code == 429
    assert _error(throttled)["code"] == "THROTTLED"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 900


def test_repeated_failures_from_one_ip_throttle_that_ip_only(api):
    """Sent from 127.0.0.2 (all of 127/8 is loopback), so other tests' address is not throttled."""
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(api)

    def login_from(ip: str, email: str) -> int:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30, source_address=(ip, 0))
        try:
            body = json.dumps({"email": email, "password": "Wrong-pass-123"})
            connection.request("POST", "/v1/auth/login", body, {"Content-Type": "application/json"})
            return connection.getresponse().status
        finally:
            connection.close()

    statuses = [login_from("127.0.0.2", unique_email("spray")) for _ in range(21)]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    assert login_from("127.0.0.3", unique_email("spray")) == 401


# -- tokens the gateway refuses -------------------------------------------------------------


def _moto_key() -> jwt.PyJWK:
    path = resources.files("moto") / "cognitoidp" / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes())))


def _claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_tokens_that_are_not_valid_access_tokens_are_401(api, tokens, local_stack):
    genuine = tokens("customer")
    assert get(f"{api}/v1/me", genuine).status_code == 200
    claims = _claims_of(genuine)
    pool_key = _moto_key()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forgeries = {
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, pool_key.key,
                              algorithm="RS256", headers={"kid": "dummy"}),
        "another client": jwt.encode({**claims, "client_id": "someone-elses-app"}, pool_key.key,
                                     algorithm="RS256", headers={"kid": "dummy"}),
        "another issuer": jwt.encode({**claims, "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"},
                                     pool_key.key, algorithm="RS256", headers={"kid": "dummy"}),
        "key not in the pool": jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "dummy"}),
        "unknown kid": jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "elsewhere"}),
        "id token": jwt.encode({**claims, "token_use": "id"}, pool_key.key, algorithm="RS256",
                               headers={"kid": "dummy"}),
        "malformed": "not.a.token",
    }
    # The pool key really is the pool's: the same claims signed with it are accepted.
    control = jwt.encode(claims, pool_key.key, algorithm="RS256", headers={"kid": "dummy"})
    assert get(f"{api}/v1/me", control).status_code == 200
    for name, token in forgeries.items():
        response = get(f"{api}/v1/me", token)
        assert response.status_code == 401, name
        assert _error(response)["code"] == "UNAUTHORIZED"


def test_a_token_from_a_session_not_begun_through_login_is_refused(api, local_stack):
    """A direct Cognito sign-in (bypassing throttling and the session record) gets nowhere."""
    user = register(api, "customer")
    direct = local_stack.client("cognito-idp").initiate_auth(
        ClientId=local_stack.names.client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user["email"], "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    assert get(f"{api}/v1/me", direct).status_code == 401


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "\u00fa@example.com"),  # found by the fuzzer: Cognito refuses it, we answered 500
        ("name", "Asha\u0019Rao"),  # control characters never reach other users' screens
        ("name", "   "),
    ],
)
def test_unusable_email_or_name_is_400_and_creates_nothing(api, field, value):
    body = {"email": unique_email("customer"), "password": PASSWORD, "name": "Asha Rao", "role": "customer",
            field: value}
    response = post(f"{api}/v1/auth/register", body)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    if field == "name":
        assert post(f"{api}/v1/auth/login", {"email": body["email"], "password": PASSWORD}).status_code == 401
