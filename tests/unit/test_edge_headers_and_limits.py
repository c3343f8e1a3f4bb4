"""The HTTP edge's headers, CORS, per-client rate limits and webhook source allow-lists, below
HTTP: the application's copies agree with the description, the limiter counts and refuses as
documented (fixed windows, Retry-After, fail open), and docs/rate-limits.md is what the code says."""

from __future__ import annotations

import json

import pytest

from bazaar.platform import headers
from bazaar.platform.edge import WebhookEdge, WebhookReply
from bazaar.platform.http import HttpApi
from bazaar.platform.ratelimit import LIMITED_ROUTES, RATE_LIMIT_TABLE, Client, RateLimiter, UserKey
from bazaar.platform.settings import ConfigurationError, RateLimit, load_settings
from infra import rate_limit_docs
from infra.description import SERVICE, edge
from infra.description.settings import RATE_LIMITS
from infra.local.events import function_url_event, rest_proxy_event
from infra.local.gateway import Gateway
from infra.description.model import PlaceholderNames

PROD = SERVICE.at_stage("prod")
LOGIN = "POST /v1/auth/login"
CHECKOUT = "POST /v1/checkout"


def environment(function: str, **overrides) -> dict[str, str]:
    return {**PROD.function_environment(PROD.function(function), PlaceholderNames()), **overrides}


class MemoryCounters:
    """The conditional ADD of the DynamoDB counters, in memory."""

    def __init__(self, failing: bool = False):
        self.hits: dict[str, int] = {}
        self.failing = failing

    def hit(self, key: str, limit: int, expires_at: int) -> bool:
        if self.failing:
            raise ConnectionError("DynamoDB did not answer")
        if self.hits.get(key, 0) >= limit:
            return False
        self.hits[key] = self.hits.get(key, 0) + 1
        return True


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(route: str, limit: RateLimit, counters: MemoryCounters, clock: Clock) -> RateLimiter:
    row = next(r for r in LIMITED_ROUTES if r.route == route)
    return RateLimiter({route: (row, limit)}, counters, clock)


# -- the copies of the contract ------------------------------------------------------------------


def test_the_applications_headers_are_the_descriptions():
    assert dict(headers.SECURITY_HEADERS) == dict(edge.SECURITY_HEADERS)
    assert headers.CORS_ALLOWED_HEADERS == edge.CORS_ALLOWED_HEADERS
    assert headers.CORS_EXPOSED_HEADERS == edge.CORS_EXPOSED_HEADERS
    assert headers.CORS_MAX_AGE_SECONDS == edge.CORS_MAX_AGE_SECONDS


def test_every_limited_route_has_its_setting_in_every_stage_and_nothing_else_does():
    assert {row.setting for row in LIMITED_ROUTES} == set(RATE_LIMITS)
    assert len({row.route for row in LIMITED_ROUTES}) == len(LIMITED_ROUTES)
    for stage in SERVICE.stages:
        staged = SERVICE.at_stage(stage.name)
        declared = {k: v for f in staged.functions for k, v in f.environment.items()}
        for row in LIMITED_ROUTES:
            RateLimit.parse(declared[row.setting])  # raises on a malformed value


def test_every_limited_route_is_declared_by_a_function_that_may_write_the_counters():
    served = {route.key: (function, route) for function, route in SERVICE.routes}
    for row in LIMITED_ROUTES:
        if row.route in served:
            function, route = served[row.route]
            assert RATE_LIMIT_TABLE in function.tables, f"{function.name} serves {row.route}"
            assert row.setting in function.environment, f"{function.name} serves {row.route}"
            # A route with roles limits its caller; a public one can only name an account in its body.
            assert (row.user_key is UserKey.CALLER) == (not route.is_public), row.route
    assert sorted(row.route for row in LIMITED_ROUTES if row.route not in served) == []


def test_the_rate_limits_page_is_what_the_code_says():
    assert rate_limit_docs.PAGE.read_text() == rate_limit_docs.render(), (
        "docs/rate-limits.md is stale: run python -m infra.rate_limit_docs")


# -- settings --------------------------------------------------------------------------------------


def test_limits_origins_and_source_allow_lists_are_typed_settings():
    settings = load_settings(environment("identity-api", CORS_ALLOWED_ORIGINS="https://a.example,https://b.example"))
    assert settings.rate_limits["RATE_LIMIT_LOGIN"] == RateLimit(per_user=10, per_ip=100, window_seconds=300)
    assert settings.cors_allowed_origins == {"https://a.example", "https://b.example"}
    hook = load_settings(environment("payments-phonepe-webhook", PHONEPE_WEBHOOK_SOURCE_IPS="10.0.0.0/8, 2001:db8::/32"))
    assert [str(n) for n in hook.webhook_source_ips["phonepe"]] == ["10.0.0.0/8", "2001:db8::/32"]


@pytest.mark.parametrize(("function", "name", "value", "named"), [
    ("identity-api", "RATE_LIMIT_LOGIN", "per_user=10,per_ip=100", "RATE_LIMIT_LOGIN"),
    ("identity-api", "RATE_LIMIT_LOGIN", "per_user=-1,per_ip=100,window_seconds=60", "RATE_LIMIT_LOGIN"),
    ("identity-api", "RATE_LIMIT_LOGIN", "10/100/60", "RATE_LIMIT_LOGIN"),
    ("identity-api", "RATE_LIMIT_LOGIN", "per_user=1,per_ip=1,window_seconds=60,burst=5", "RATE_LIMIT_LOGIN"),
    # Host bits set: a typo for another network than the one meant.
    ("payments-phonepe-webhook", "PHONEPE_WEBHOOK_SOURCE_IPS", "10.0.0.1/8", "PHONEPE_WEBHOOK_SOURCE_IPS"),
])
def test_a_malformed_limit_or_allow_list_stops_start_up_and_is_named(function, name, value, named):
    with pytest.raises(ConfigurationError, match=named):
        load_settings(environment(function, **{name: value}))


def test_a_function_serving_a_limited_route_refuses_to_start_without_its_numbers():
    env = environment("checkout-api")
    del env["RATE_LIMIT_CHECKOUT"]
    with pytest.raises(ConfigurationError, match="RATE_LIMIT_CHECKOUT"):
        RateLimiter.for_function(load_settings(env))
    assert RateLimiter.for_function(load_settings(environment("catalog-api"))) is None


# -- the limiter -----------------------------------------------------------------------------------


def test_an_address_over_its_limit_waits_for_the_window_to_end():
    clock = Clock(1_000_000_000.5)  # 100.5 s into a 300 s window (1e9 is a multiple of 300 plus 100)
    limits = limiter(LOGIN, RateLimit(per_user=0, per_ip=2, window_seconds=300), MemoryCounters(), clock)
    sender = Client(ip="203.0.113.7", user_id=None, body=None)

    assert [limits.retry_after(LOGIN, sender) for _ in range(3)] == [None, None, 200]
    assert limits.retry_after(LOGIN, Client(ip="203.0.113.8", user_id=None, body=None)) is None
    clock.now += 200  # the next window
    assert limits.retry_after(LOGIN, sender) is None


def test_one_account_is_limited_across_addresses_by_the_email_its_sign_in_names():
    counters = MemoryCounters()
    limits = limiter(LOGIN, RateLimit(per_user=2, per_ip=100, window_seconds=60), counters, Clock(60.0))

    def sign_in(ip: str, email: str) -> int | None:
        return limits.retry_after(LOGIN, Client(ip=ip, user_id=None, body=json.dumps({"email": email})))

    assert sign_in("198.51.100.1", "Asha@Shop.example") is None
    assert sign_in("198.51.100.2", " asha@shop.example") is None
    assert sign_in("198.51.100.3", "asha@shop.example") == 60
    assert sign_in("198.51.100.3", "ravi@shop.example") is None
    # The counters' keys never hold the email itself.
    assert not any("asha" in key for key in counters.hits)


def test_a_signed_in_caller_is_limited_as_themself():
    limits = limiter(CHECKOUT, RateLimit(per_user=1, per_ip=100, window_seconds=60), MemoryCounters(), Clock(0.0))
    assert limits.retry_after(CHECKOUT, Client(ip="192.0.2.1", user_id="usr_a", body=None)) is None
    assert limits.retry_after(CHECKOUT, Client(ip="192.0.2.1", user_id="usr_a", body=None)) == 60
    assert limits.retry_after(CHECKOUT, Client(ip="192.0.2.1", user_id="usr_b", body=None)) is None


def test_a_zero_turns_a_check_off_and_other_routes_are_not_counted():
    counters = MemoryCounters()
    limits = limiter(CHECKOUT, RateLimit(per_user=0, per_ip=0, window_seconds=60), counters, Clock(0.0))
    sender = Client(ip="192.0.2.1", user_id="usr_a", body=None)
    assert all(limits.retry_after(CHECKOUT, sender) is None for _ in range(5))
    assert limits.retry_after("GET /v1/products", sender) is None
    assert counters.hits == {}


def test_when_the_counters_cannot_be_reached_requests_are_let_through():
    limits = limiter(LOGIN, RateLimit(per_user=1, per_ip=1, window_seconds=60), MemoryCounters(failing=True),
                     Clock(0.0))
    sender = Client(ip="192.0.2.1", user_id=None, body=json.dumps({"email": "a@shop.example"}))
    assert [limits.retry_after(LOGIN, sender) for _ in range(3)] == [None, None, None]


# -- HttpApi and WebhookEdge -----------------------------------------------------------------------


def api_with_login(counters: MemoryCounters, **overrides) -> HttpApi:
    settings = load_settings(environment("identity-api", CORS_ALLOWED_ORIGINS="https://shop.example", **overrides))
    api = HttpApi(settings, limiter=limiter(LOGIN, RateLimit(per_user=1, per_ip=10, window_seconds=60),
                                            counters, Clock(30.0)))

    @api.app.post("/v1/auth/login")
    def login() -> dict:
        return {"signed_in": True}

    return api


def login_event(origin: str | None = None) -> dict:
    headers = [("Content-Type", "application/json"), *([("Origin", origin)] if origin else [])]
    return rest_proxy_event(method="POST", resource="/v1/auth/login", path="/v1/auth/login", path_parameters={},
                            query="", headers=headers, body=json.dumps({"email": "a@shop.example"}).encode(),
                            source_ip="192.0.2.1")


def test_every_answer_carries_the_security_headers_and_an_allowed_origin_its_cors_headers():
    api = api_with_login(MemoryCounters())
    allowed = api.handle(login_event("https://shop.example"), None)
    refused = api.handle(login_event("https://evil.example"), None)

    assert allowed["statusCode"] == 200 and refused["statusCode"] == 429
    for response in (allowed, refused):
        assert {k: response["headers"][k] for k in edge.SECURITY_HEADERS} == dict(edge.SECURITY_HEADERS)
        assert response["headers"]["Vary"] == "Origin"
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://shop.example"
    assert allowed["headers"]["Access-Control-Expose-Headers"] == "Retry-After,X-Request-Id"
    assert not any(k.startswith("Access-Control-") for k in refused["headers"])


def test_a_client_over_its_limit_gets_429_with_retry_after_and_the_envelope():
    api = api_with_login(MemoryCounters())
    api.handle(login_event(), None)
    refused = api.handle(login_event(), None)

    assert refused["statusCode"] == 429
    assert refused["headers"]["Retry-After"] == "30"
    error = json.loads(refused["body"])["error"]
    assert error["code"] == "THROTTLED" and error["request_id"] == refused["headers"]["X-Request-Id"]


def webhook_event(source_ip: str, body: bytes = b'{"event": "scan"}') -> dict:
    return function_url_event(method="POST", path="/webhooks/phonepe", query="", headers=[], body=body,
                              source_ip=source_ip, url_id="payments")


def test_a_webhook_from_outside_the_allow_list_is_refused_before_anything_reads_it():
    settings = load_settings(environment("payments-phonepe-webhook", PHONEPE_WEBHOOK_SOURCE_IPS="203.0.113.0/24"))
    seen: list[bytes] = []

    def receive(request):
        seen.append(request.body)
        return WebhookReply.accepted()

    edge_ = WebhookEdge(settings, provider="phonepe")
    outside = edge_.handle(webhook_event("198.51.100.9"), receive)
    inside = edge_.handle(webhook_event("203.0.113.40"), receive)

    assert outside["statusCode"] == 403 and json.loads(outside["body"])["error"]["code"] == "FORBIDDEN"
    assert inside["statusCode"] == 200 and seen == [b'{"event": "scan"}']
    for response in (outside, inside):
        assert {k: response["headers"][k] for k in edge.SECURITY_HEADERS} == dict(edge.SECURITY_HEADERS)


def test_an_empty_allow_list_lets_every_address_reach_the_signature_check():
    settings = load_settings(environment("payments-phonepe-webhook"))
    answer = WebhookEdge(settings, provider="phonepe").handle(
        webhook_event("198.51.100.9"), lambda request: WebhookReply.accepted())
    assert answer["statusCode"] == 200


def test_a_webhook_function_without_its_allow_list_setting_refuses_to_start():
    env = environment("payments-phonepe-webhook")
    del env["PHONEPE_WEBHOOK_SOURCE_IPS"]
    with pytest.raises(ConfigurationError, match="PHONEPE_WEBHOOK_SOURCE_IPS"):
        WebhookEdge(load_settings(env), provider="phonepe")


def test_every_answer_the_local_gateway_gives_itself_carries_the_security_headers():
    gateway = Gateway(SERVICE.at_stage("dev"), runtimes={}, control=lambda method, target, body: None)
    for response in SERVICE.api.gateway_responses:
        answer = dict(gateway._gateway_error(response.kind, "req-1").headers)
        assert {k: answer[k] for k in edge.SECURITY_HEADERS} == dict(edge.SECURITY_HEADERS), response.kind
        assert answer["Vary"] == "Origin" and "Access-Control-Allow-Origin" not in answer, response.kind


def test_a_second_factor_is_limited_per_sign_in_session_and_the_session_is_not_stored():
    route = "POST /v1/auth/login/mfa"
    counters = MemoryCounters()
    limits = limiter(route, RateLimit(per_user=1, per_ip=100, window_seconds=60), counters, Clock(0.0))

    def answer(session: str) -> int | None:
        return limits.retry_after(route, Client(ip="192.0.2.1", user_id=None,
                                                body=json.dumps({"session": session, "code": "123456"})))

    assert answer("session-one") is None
    assert answer("session-one") == 60
    assert answer("session-two") is None
    assert not any("session-one" in key for key in counters.hits)
