"""The smoke suite (infra.verify) against an in-memory service that keeps the contract: it passes
there, and each way of breaking the contract fails the check named for it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from bazaar.platform.errors import CATALOGUE
from infra.description import SERVICE
from infra.description.edge import CORS_ALLOWED_HEADERS, SECURITY_HEADERS
from infra.verify import Options, Outcome, run
from infra.verify.__main__ import main, parse, summary, table
from infra.verify.checks import CHECKS, REFUSED_ORIGIN, _forgeries, check_tls, forged_tokens, leaks_in
from infra.verify.probe import Answer, Probe

URL = "https://api.example.test"
ORIGIN = "https://shop.example.test"
ADMIN_TOKEN = "admin-token"
PUBLIC = {(route.method, route.path) for _, route in SERVICE.routes if route.is_public}
WEBHOOKS = {webhook.path for _, webhook in SERVICE.webhooks}

Responder = Callable[[str, str, dict[str, str], bytes | None], Answer]


def _answer(method: str, url: str, status: int, body: object, headers: dict[str, str] | None = None) -> Answer:
    sent = {**SECURITY_HEADERS, "Content-Type": "application/json", "Vary": "Origin", **(headers or {})}
    return Answer(method, url, status, tuple(sent.items()), json.dumps(body).encode())


def _error(method: str, url: str, status: int, code: str) -> Answer:
    return _answer(method, url, status, {"error": {"code": code, "message": "no", "request_id": "req-1"}},
                   {"X-Request-Id": "req-1"})


def keeps_the_contract(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
    """A service that answers as infra/description/edge.py and the API conventions say."""
    path = urlsplit(url).path
    origin = headers.get("Origin")
    cors = {"Access-Control-Allow-Origin": origin} if origin == ORIGIN else {}
    if method == "OPTIONS":
        if cors:
            cors |= {"Access-Control-Allow-Methods": "OPTIONS,POST",
                     "Access-Control-Allow-Headers": ",".join(CORS_ALLOWED_HEADERS)}
        return _answer(method, url, 204, "", cors)
    if path in WEBHOOKS:
        return _error(method, url, 401, "UNAUTHORIZED")
    if (method, path) in PUBLIC:
        if path == "/health":
            return _answer(method, url, 200, {"status": "ok", "version": "1.2.3", "dependencies": []}, cors)
        if path == "/v1/auth/login":
            try:
                json.loads(body or b"")
            except ValueError:
                return _error(method, url, 400, "MALFORMED_JSON")
        return _answer(method, url, 200, {}, cors)
    if not any(re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", r.path), path) and r.method == method
               for _, r in SERVICE.routes):
        return _error(method, url, 404, "NOT_FOUND")
    if headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
        return _error(method, url, 401, "UNAUTHORIZED")
    return _answer(method, url, 200, {"version": "1.2.3", "stage": "prod", "health": {"status": "ok"},
                                      "scheduler": {"late": False}})


@dataclass
class FakeProbe(Probe):
    """The suite's probe with the network replaced by a function; it keeps the answers as the real one does."""

    responder: Responder = keeps_the_contract
    # As an https-only endpoint does: nothing listens for plain http.
    refuses_plain_http: bool = True

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body: bytes | None = None, timeout_seconds: float | None = None) -> Answer:
        if urlsplit(url).scheme == "http" and self.refuses_plain_http:
            answer = Answer(method, url, 0, problem="ConnectionRefusedError")
        else:
            answer = self.responder(method, url, dict(headers or {}), body)
        self.seen.append(answer)
        return answer


def outcomes(responder: Responder = keeps_the_contract, **options) -> dict[str, tuple[Outcome, str]]:
    chosen = {"url": URL, "admin_token": ADMIN_TOKEN, "allowed_origin": ORIGIN, **options}
    probe = FakeProbe(responder=responder, refuses_plain_http=chosen["url"].startswith("https:"))
    return {r.name: (r.outcome, r.reason) for r in run(Options(**chosen), probe=probe)}


def failures(responder: Responder, **options) -> dict[str, str]:
    return {name: reason for name, (outcome, reason) in outcomes(responder, **options).items()
            if outcome is Outcome.FAIL}


def altered(change: Callable[[Answer, dict[str, str]], Answer]) -> Responder:
    def responder(method, url, headers, body):
        return change(keeps_the_contract(method, url, headers, body), headers)
    return responder


def test_a_service_that_keeps_the_contract_passes_every_check():
    assert {name: outcome for name, (outcome, _) in outcomes().items()} == {name: Outcome.PASS for name, _ in CHECKS}


def test_without_a_token_or_an_origin_those_checks_are_skipped_not_failed():
    found = outcomes(admin_token=None, allowed_origin=None, url="http://api.example.test")
    assert {n for n, (o, _) in found.items() if o is Outcome.SKIP} == {"admin diagnostics", "cors: allowed origin",
                                                                      "tls"}
    assert all(o is Outcome.PASS for n, (o, _) in found.items() if n not in
               ("admin diagnostics", "cors: allowed origin", "tls"))


def test_a_missing_security_header_fails_that_check_naming_the_header():
    def strip(answer, _):
        return Answer(answer.method, answer.url, answer.status,
                      tuple((k, v) for k, v in answer.headers if k != "X-Frame-Options"), answer.body)

    assert list(failures(altered(strip))) == ["security headers"]
    assert "X-Frame-Options" in failures(altered(strip))["security headers"]


def test_a_weaker_header_value_is_named_with_its_value():
    def weaken(answer, _):
        headers = tuple((k, "max-age=60" if k == "Strict-Transport-Security" else v) for k, v in answer.headers)
        return Answer(answer.method, answer.url, answer.status, headers, answer.body)

    assert "Strict-Transport-Security: 'max-age=60'" in failures(altered(weaken))["security headers"]


def test_a_route_open_without_a_token_fails_the_auth_check():
    open_orders = "/v1/orders"

    def leak(answer, headers):
        if urlsplit(answer.url).path == open_orders and "Authorization" not in headers and answer.method == "GET":
            return _answer(answer.method, answer.url, 200, {"items": []})
        return answer

    assert list(failures(altered(leak))) == ["auth: no token"]
    assert "GET /v1/orders → 200 without a token" in failures(altered(leak))["auth: no token"]


def test_a_forged_token_let_in_fails_the_forged_token_check():
    def trusting(answer, headers):
        if headers.get("Authorization", "").startswith("Bearer ") and answer.status == 401:
            return _answer(answer.method, answer.url, 200, {})
        return answer

    assert "auth: forged token" in failures(altered(trusting))


def test_a_traceback_in_an_error_fails_the_envelope_check_and_no_internals():
    def crash(answer, _):
        if answer.status == 400:
            return _answer(answer.method, answer.url, 400, {"error": {
                "code": "MALFORMED_JSON", "message": 'Traceback (most recent call last):\n  File "/var/task/a.py", '
                "line 3\nbotocore.exceptions.ClientError", "request_id": "req-1"}})
        return answer

    found = failures(altered(crash))
    assert set(found) == {"error envelope", "no internals"}
    assert "a Python traceback" in found["error envelope"]


def test_an_accepted_webhook_forgery_fails_that_providers_check():
    def accepts_shiprocket(answer, _):
        if urlsplit(answer.url).path == "/webhooks/shiprocket":
            return _answer(answer.method, answer.url, 200, {"status": "accepted"})
        return answer

    assert list(failures(altered(accepts_shiprocket))) == ["webhook forgery: shiprocket"]


def test_cors_for_any_origin_fails_the_refusal_check():
    def wildcard(answer, _):
        return Answer(answer.method, answer.url, answer.status,
                      (*answer.headers, ("Access-Control-Allow-Origin", "*")), answer.body)

    found = failures(altered(wildcard))
    assert REFUSED_ORIGIN in found["cors: other origin refused"]


def test_a_versioned_server_banner_fails():
    def banner(answer, _):
        return Answer(answer.method, answer.url, answer.status,
                      (*answer.headers, ("Server", "bazaar-local-gateway Python/3.11.7")), answer.body)

    assert list(failures(altered(banner))) == ["server banner"]


def test_diagnostics_missing_a_key_fail_with_the_key_named():
    def thin(answer, headers):
        if urlsplit(answer.url).path == "/v1/admin/diagnostics" and answer.status == 200:
            return _answer(answer.method, answer.url, 200, {"version": "1", "stage": "prod", "health": {}})
        return answer

    assert failures(altered(thin)) == {"admin diagnostics": "diagnostics lack scheduler"}


def test_plain_http_answering_in_the_clear_fails_tls():
    probe = FakeProbe(refuses_plain_http=False)

    assert check_tls(probe, Options(url=URL)) == (Outcome.FAIL, "http:// answered 200 in the clear")


def test_plain_http_redirected_or_refused_passes_tls():
    def redirects(method, url, headers, body):
        return Answer(method, url, 301, (("Location", url.replace("http:", "https:")),))

    assert check_tls(FakeProbe(responder=redirects, refuses_plain_http=False), Options(url=URL))[0] is Outcome.PASS
    assert check_tls(FakeProbe(), Options(url=URL))[0] is Outcome.PASS


def test_nothing_answering_fails_health_and_skips_the_rest_instead_of_waiting_on_each():
    found = outcomes(lambda method, url, headers, body: Answer(method, url, 0, problem="ConnectionRefusedError"))
    assert found["health"][0] is Outcome.FAIL
    assert all(outcome is Outcome.SKIP for name, (outcome, _) in found.items() if name != "health")


def test_a_check_that_crashes_fails_alone():
    def broken(probe, options):
        raise KeyError("oops")

    results = run(Options(url=URL), checks=(("broken", broken), *CHECKS[:1]), probe=FakeProbe())
    assert [(r.name, r.outcome) for r in results] == [("broken", Outcome.FAIL), ("health", Outcome.PASS)]


def test_the_leak_patterns_catch_internals_and_spare_what_the_api_says():
    assert leaks_in('Traceback (most recent call last):') == ["a Python traceback"]
    assert leaks_in("botocore said no") == ["the AWS SDK"]
    assert leaks_in("ConditionalCheckFailedException") == ["an exception class name"]
    assert leaks_in("in /var/task/bazaar/x") == ["a file path"]
    assert leaks_in("arn:aws:dynamodb:ap-south-1:123456789012:table/x") == ["an AWS ARN", "an AWS account id"]
    assert leaks_in('{"account": "123456789012"}') == ["an AWS account id"]
    request_id = "c0ffee00-1234-4567-8901-123456789012"
    assert leaks_in(json.dumps({"error": {"code": "INTERNAL_ERROR", "message": "Internal Server Error",
                                          "request_id": request_id}})) == []
    for kind in CATALOGUE.values():
        assert leaks_in(f"{kind.code}: {kind.meaning}") == [], kind


def test_every_described_webhook_gets_a_forgery_of_its_own_provider():
    for _, webhook in SERVICE.webhooks:
        assert _forgeries(webhook.provider)[0][0] != "no credentials", webhook.provider


def test_forged_tokens_claim_an_admin_and_carry_no_valid_signature():
    unsigned, foreign = forged_tokens().values()
    header = json.loads(base64.urlsafe_b64decode(unsigned.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(unsigned.split(".")[1] + "=="))
    assert header["alg"] == "none" and unsigned.endswith(".")
    assert claims["cognito:groups"] == ["admin"]
    assert json.loads(base64.urlsafe_b64decode(foreign.split(".")[0] + "=="))["alg"] == "RS256"


def test_the_command_line_takes_webhook_urls_and_the_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("BAZAAR_VERIFY_ADMIN_TOKEN", "from-env")
    options, as_json = parse(["--url", URL, "--webhook", "phonepe=https://abc.lambda-url.test/", "--json"])
    assert options.admin_token == "from-env" and as_json
    phonepe, shiprocket = (w for _, w in SERVICE.webhooks if w.provider in ("phonepe", "shiprocket"))
    assert options.webhook(phonepe) == "https://abc.lambda-url.test/"
    assert options.webhook(shiprocket) == f"{URL}/webhooks/shiprocket"
    with pytest.raises(SystemExit):
        parse(["--url", URL, "--webhook", "phonepe"])


def test_the_table_is_aligned_and_the_summary_counts(capsys):
    results = run(Options(url=URL), probe=FakeProbe())
    lines = table(results).splitlines()
    assert len({line.index(" PASS ") for line in lines[2:] if " PASS " in line}) == 1
    assert summary(results).startswith("PASSED: ")


def test_the_exit_code_is_1_when_a_check_fails():
    assert main(["--url", "http://127.0.0.1:9", "--timeout", "1", "--json"]) == 1
