"""The security headers, CORS and body limits of every kind of answer, over HTTP against the
local stack (dev stage: its CORS allow-list is the developers' localhost origins): a function's
2xx and 4xx, the gateway's own 401/403/404/413 and preflights, webhooks, and methods nothing
routes. No answer names the server's software."""

from __future__ import annotations

import json
import re

import pytest
import requests

from infra.description import SERVICE
from infra.description.edge import CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS, SECURITY_HEADERS
from tests.conftest import bearer

ALLOWED_ORIGIN = SERVICE.at_stage("dev").stage.cors_allowed_origins[0]  # type: ignore[union-attr]
OTHER_ORIGIN = "https://evil.example"


def assert_edge_headers(response: requests.Response, what: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (what, name, response.headers.get(name))
    assert "Origin" in response.headers.get("Vary", ""), what
    assert "Server" not in response.headers, (what, response.headers.get("Server"))


def answers(api: str, tokens) -> dict[str, requests.Response]:
    customer = bearer(tokens("customer"))
    return {
        "function 200": requests.get(f"{api}/health", timeout=30),
        "function 200 with a token": requests.get(f"{api}/v1/me", headers=customer, timeout=30),
        "function 400": requests.post(f"{api}/v1/auth/login", json={"email": "x"}, timeout=30),
        "function 404": requests.get(f"{api}/v1/products/prd_missing", timeout=30),
        "gateway 401": requests.get(f"{api}/v1/me", timeout=30),
        "gateway 403": requests.get(f"{api}/v1/admin/diagnostics", headers=customer, timeout=30),
        "gateway 404": requests.get(f"{api}/v1/no-such-thing", timeout=30),
        "gateway 413": requests.post(f"{api}/health", data=b"x" * (SERVICE.api.gateway_max_body_bytes + 1),
                                     timeout=60),
        "TRACE": requests.request("TRACE", f"{api}/health", timeout=30),
        "preflight": requests.options(f"{api}/v1/auth/login", headers={"Origin": ALLOWED_ORIGIN}, timeout=30),
        "webhook 4xx": requests.post(f"{api}/webhooks/shiprocket", json={"awb": "1"}, timeout=30),
        "webhook 413": requests.post(f"{api}/webhooks/phonepe", data=b"x" * (int(SERVICE.settings[
            "MAX_REQUEST_BODY_BYTES"]) + 1), timeout=30),
    }


def test_every_kind_of_answer_carries_the_security_headers_and_no_server_banner(api, tokens):
    found = answers(api, tokens)
    expected = {"function 200": 200, "function 200 with a token": 200, "function 400": 400, "function 404": 404,
                "gateway 401": 401, "gateway 403": 403, "gateway 404": 404, "gateway 413": 413, "TRACE": 404,
                "preflight": 204, "webhook 413": 413}
    assert {what: found[what].status_code for what in expected} == expected
    assert 400 <= found["webhook 4xx"].status_code < 500
    for what, response in found.items():
        assert_edge_headers(response, what)


def test_an_allowed_origin_reads_the_answer_and_another_origin_gets_no_cors_header(api):
    allowed = requests.get(f"{api}/health", headers={"Origin": ALLOWED_ORIGIN}, timeout=30)
    other = requests.get(f"{api}/health", headers={"Origin": OTHER_ORIGIN}, timeout=30)

    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert allowed.headers["Access-Control-Expose-Headers"] == ",".join(CORS_EXPOSED_HEADERS)
    assert not [name for name in other.headers if name.lower().startswith("access-control-")]
    assert allowed.headers["Vary"] == other.headers["Vary"] == "Origin"


def test_a_preflight_for_an_allowed_origin_names_the_paths_methods_and_the_allowed_headers(api):
    for path, methods in (("/v1/auth/login", "OPTIONS,POST"), ("/v1/orders/ord_anything", "GET,OPTIONS"),
                          ("/v1/me/notification-preferences", "GET,OPTIONS,PUT"),
                          ("/v1/products/prd_1", "GET,OPTIONS")):
        response = requests.options(f"{api}{path}", timeout=30, headers={
            "Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,idempotency-key"})
        assert response.status_code == 204, (path, response.text)
        assert response.content == b""
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
        assert response.headers["Access-Control-Allow-Methods"] == methods, path
        assert response.headers["Access-Control-Allow-Headers"] == ",".join(CORS_ALLOWED_HEADERS)
        assert {"Authorization", "Idempotency-Key"} <= set(CORS_ALLOWED_HEADERS)
        assert response.headers["Access-Control-Max-Age"] == str(CORS_MAX_AGE_SECONDS)
        assert response.headers["Vary"] == "Origin"


def test_a_preflight_from_another_origin_is_answered_without_any_cors_header(api):
    for headers in ({"Origin": OTHER_ORIGIN}, {}, {"Origin": "null"}):
        response = requests.options(f"{api}/v1/checkout", headers=headers, timeout=30)
        assert response.status_code == 204
        assert not [name for name in response.headers if name.lower().startswith("access-control-")], headers
        assert response.headers["Vary"] == "Origin"


def test_a_preflight_on_a_path_no_route_declares_is_404_in_the_envelope(api):
    response = requests.options(f"{api}/v1/no-such-thing", headers={"Origin": ALLOWED_ORIGIN}, timeout=30)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_gateways_own_refusals_carry_no_cors_allow_header_even_for_an_allowed_origin(api):
    # API Gateway's own responses can only carry fixed headers (or echo the request's), so
    # neither twin can check the allow-list there: they name no origin at all.
    response = requests.get(f"{api}/v1/me", headers={"Origin": ALLOWED_ORIGIN}, timeout=30)
    assert response.status_code == 401
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("route", [r for _, r in SERVICE.routes], ids=lambda r: r.key)
def test_every_route_answers_a_body_over_the_limit_with_413_before_it_runs(api, tokens, route):
    limit = int(SERVICE.settings["MAX_REQUEST_BODY_BYTES"])
    path = re.sub(r"\{[^}]+\}", "abc123", route.path)
    headers = {"Content-Type": "application/json", "Idempotency-Key": "over-the-limit"}
    if not route.is_public:
        headers |= bearer(tokens(sorted(route.roles)[0].value))
    body = json.dumps({"padding": "x" * limit}).encode()
    response = requests.request(route.method, f"{api}{path}", data=body, headers=headers, timeout=30)
    assert response.status_code == 413, (route.key, response.status_code, response.text)
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert_edge_headers(response, route.key)
