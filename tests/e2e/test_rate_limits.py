"""Per-client rate limits of every limited route, the gateway's own throttle and a webhook's
source allow-list, over HTTP against a stack of their own: its limits are small (2 per user and
3 per address an hour on every limited route), its stage throttle low, and PhonePe's webhook
accepts only 127.0.9.0/24. Each client is a loopback address of its own (the gateway sees the
socket's peer, as API Gateway does), so the counts of one test never meet another's."""

from __future__ import annotations

import http.client
import itertools
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import pyotp
import pytest

from bazaar.platform.ratelimit import LIMITED_ROUTES, LimitedRoute, UserKey
from infra.description import SERVICE
from infra.description.edge import SECURITY_HEADERS
from infra.description.settings import RATE_LIMITS
from infra.local.stack import LocalConfig, LocalStack

PER_USER, PER_IP, WINDOW = 2, 3, 3600
WEBHOOK_NETWORK = "127.0.9.0/24"
PASSWORD = "Correct-Horse-9-battery"
_addresses = (f"127.0.{n // 250 + 10}.{n % 250 + 1}" for n in itertools.count())


def fresh_address() -> str:
    return next(_addresses)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def error_code(self) -> str | None:
        try:
            return json.loads(self.body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None


def send(api: str, method: str, path: str, *, source: str, body: dict | None = None,
         headers: dict[str, str] | None = None) -> Answer:
    target = urlsplit(api)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30, source_address=(source, 0))
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None,
                           {"Content-Type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        return Answer(answer.status, dict(answer.getheaders()), answer.read().decode())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory):
    staged = SERVICE.at_stage("dev")
    small = {**dict.fromkeys(RATE_LIMITS, f"per_user={PER_USER},per_ip={PER_IP},window_seconds={WINDOW}"),
             "PHONEPE_WEBHOOK_SOURCE_IPS": WEBHOOK_NETWORK}
    functions = tuple(
        replace(f, environment={k: small.get(k, v) for k, v in f.environment.items()}) for f in staged.functions)
    # Low enough for a burst of cheap requests to exhaust, high enough for the tests' own pace.
    api = replace(staged.api, throttle_rate_per_second=20, throttle_burst=40)
    service = replace(staged, functions=functions, api=api)
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("rate-limits-state")), service).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token_of(limited_stack):
    """Access tokens, each account signed in once from an address of its own (sign-in is limited)."""
    cache: dict[str, str] = {}

    def token(account: str) -> str:
        if account not in cache:
            role, _, label = account.partition(":")
            if label:  # a second account of the role, created as sign-up creates accounts
                email = f"{label}-{uuid.uuid4().hex[:8]}@rate.bazaar.local"
                limited_stack.create_account(role, email, PASSWORD)
                credentials = {"email": email, "password": PASSWORD}
            else:
                credentials = dict(limited_stack.accounts[role])
            secret = credentials.pop("totp_secret", None) or limited_stack.totp_secrets.get(credentials["email"])
            address = fresh_address()
            answer = send(limited_stack.url, "POST", "/v1/auth/login", source=address, body=credentials)
            assert answer.status == 200, answer.body
            tokens = json.loads(answer.body)
            if "challenge" in tokens:  # an admin's second factor, answered as an authenticator app would
                answer = send(limited_stack.url, "POST", "/v1/auth/login/mfa", source=address,
                              body={"session": tokens["session"], "code": pyotp.TOTP(secret).now()})
                assert answer.status == 200, answer.body
                tokens = json.loads(answer.body)
            cache[account] = tokens["access_token"]
        return cache[account]

    return token


def request_for(row: LimitedRoute, user: str, token_of) -> tuple[str, dict, dict[str, str]]:
    """(path, body, headers) of one request to the route by `user` (an email, a session, or an
    account for token_of). Bodies need not be acceptable: the limit counts before the route runs."""
    path = row.route.split(" ", 1)[1].replace("{order_id}", "ord_01JRATELIMITTEST00000000")
    if row.user_key is UserKey.BODY_EMAIL:
        return path, {"email": user, "password": PASSWORD, "name": "Rate Test", "role": "customer"} \
            if path.endswith("register") else {"email": user, "password": "not-the-password"}, {}
    if row.user_key is UserKey.BODY_SESSION:
        return path, {"session": user, "code": "123456"}, {}
    if row.user_key is UserKey.NONE:
        return path, {"refresh_token": f"not-a-token-{user}"}, {}
    return path, {}, {"Authorization": f"Bearer {token_of(user)}", "Idempotency-Key": uuid.uuid4().hex}


# Two users per route: two emails or sessions, or two accounts of the route's role (admin:b is a
# second admin, created for the test).
USERS = {
    UserKey.BODY_EMAIL: lambda: (f"a-{uuid.uuid4().hex[:8]}@rate.bazaar.local", f"b-{uuid.uuid4().hex[:8]}@rate.bazaar.local"),
    UserKey.BODY_SESSION: lambda: (f"session-a-{uuid.uuid4().hex}", f"session-b-{uuid.uuid4().hex}"),
    UserKey.NONE: lambda: ("a", "b"),
}
CALLER_ROLE = {"POST /v1/checkout": "customer", "POST /v1/orders/{order_id}/refunds": "customer",
               "POST /v1/admin/orders/{order_id}/refund": "admin", "POST /v1/scouts/me/payouts": "scout"}


def assert_throttled(answer: Answer, what: str) -> None:
    assert answer.status == 429, (what, answer.status, answer.body)
    assert answer.error_code() == "THROTTLED", what
    assert json.loads(answer.body)["error"]["request_id"] == answer.headers["X-Request-Id"]
    assert 1 <= int(answer.headers["Retry-After"]) <= WINDOW, what
    assert {k: answer.headers.get(k) for k in SECURITY_HEADERS} == dict(SECURITY_HEADERS), what


@pytest.mark.parametrize("row", LIMITED_ROUTES, ids=lambda row: row.route)
def test_each_limited_route_refuses_a_client_over_its_limit_with_429_and_retry_after(limited_stack, token_of, row):
    assert row.route in {route.key for _, route in SERVICE.routes}, f"{row.route} is not a declared route"
    api = limited_stack.url
    if row.user_key is UserKey.CALLER:
        role = CALLER_ROLE[row.route]
        first, second = role, f"{role}:second"
    else:
        first, second = USERS[row.user_key]()
    here, elsewhere = fresh_address(), fresh_address()

    def call(user: str, source: str) -> Answer:
        path, body, headers = request_for(row, user, token_of)
        return send(api, "POST", path, source=source, body=body, headers=headers)

    if row.user_key is UserKey.NONE:
        # Nobody is signed in: only the address counts.
        for n in range(PER_IP):
            assert call(first, here).status != 429, n
        assert_throttled(call(second, here), f"{row.route}: address over its limit")
    else:
        for n in range(PER_USER):
            assert call(first, here).status != 429, n
        assert_throttled(call(first, here), f"{row.route}: user over their limit")
        # The address has counted PER_IP requests by now (the refused one too): another user
        # from it is refused for the address.
        assert_throttled(call(second, here), f"{row.route}: address over its limit")
        # The first user stays limited wherever they come from.
        assert_throttled(call(first, elsewhere), f"{row.route}: user from another address")
    # Another user from another address is let through.
    fresh = (USERS[row.user_key]()[1] if row.user_key is not UserKey.CALLER else second)
    assert call(fresh, fresh_address()).status != 429


def test_a_webhook_from_outside_its_allow_list_is_refused_with_403_and_one_inside_is_checked(limited_stack):
    api = limited_stack.url
    outside = send(api, "POST", "/webhooks/phonepe", source=fresh_address(), body={"event": "checkout.order.completed"})
    inside = send(api, "POST", "/webhooks/phonepe", source="127.0.9.7", body={"event": "checkout.order.completed"})

    assert outside.status == 403 and outside.error_code() == "FORBIDDEN", outside.body
    assert {k: outside.headers.get(k) for k in SECURITY_HEADERS} == dict(SECURITY_HEADERS)
    # Inside the list the signature decides: an unsigned call is refused for that, not its address.
    assert inside.status != 403 and 400 <= inside.status < 500, inside.body


def test_the_stage_throttle_answers_429_with_retry_after_in_the_envelope(limited_stack):
    api = limited_stack.url

    def knock(_: int) -> Answer:
        return send(api, "GET", "/v1/no-such-thing", source="127.0.8.1")

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(knock, range(200)))
    throttled = [a for a in found if a.status == 429]
    assert throttled, sorted({a.status for a in found})
    answer = throttled[0]
    assert answer.error_code() == "THROTTLED" and answer.headers["Retry-After"] == "1"
    assert {k: answer.headers.get(k) for k in SECURITY_HEADERS} == dict(SECURITY_HEADERS)
    assert "Server" not in answer.headers
    time.sleep(2.5)  # the bucket refills before anything else runs against this stack


def test_when_the_counters_table_is_gone_limited_routes_still_answer(limited_stack):
    # Last in this module: it takes the counters away for good. Fail open (see
    # bazaar.platform.ratelimit): the limiter's outage must not become sign-in's.
    limited_stack.client("dynamodb").delete_table(TableName=limited_stack.names.table_name("rate-limits"))
    source = fresh_address()
    answers = [send(limited_stack.url, "POST", "/v1/auth/refresh", source=source,
                    body={"refresh_token": "not-a-token"}) for _ in range(PER_IP + 2)]
    assert [a.status for a in answers] == [401] * (PER_IP + 2), [a.body for a in answers]
