"""The checks of the smoke suite, in the order they run. Each takes the probe (which keeps every
answer) and the options and returns its outcome with one line of reason. The contract checked
comes from the description: infra/description/edge.py for the headers and CORS, the routes for
which paths need a token, the webhooks for which forgeries to send."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from urllib.parse import urlsplit

from infra.description import SERVICE
from infra.description.edge import CORS_ALLOWED_HEADERS, SECURITY_HEADERS
from infra.description.model import Service, Webhook
from infra.verify.probe import Answer, Probe

# An origin no stage allows: it must get no CORS header at all.
REFUSED_ORIGIN = "https://evil.example"
# Route paths' parameters are filled with this: the request must be refused before it matters.
PATH_PARAMETER = "verify-probe"
UNKNOWN_PATH = "/v1/verify-no-such-route"
# Routes a forged token is tried on, when the description declares them (else the first
# parameterless protected GETs): a customer's own, and an admin's.
FORGED_TOKEN_ROUTES = ("GET /v1/me", "GET /v1/orders", "GET /v1/admin/diagnostics")
DIAGNOSTICS_KEYS = ("version", "stage", "health", "scheduler")

# What an answer must never show a client: how the service is built and where it runs.
LEAKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Python traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("a stack frame", re.compile(r'File "[^"]+", line \d+')),
    ("the AWS SDK", re.compile(r"\b(?:botocore|boto3)\b", re.IGNORECASE)),
    ("an exception class name", re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception)\b")),
    ("a file path", re.compile(r"(?:/var/task|/var/runtime|/opt/python|/usr/lib/python|/home/[\w.-]+|site-packages)/"
                               r"|\b[\w-]+\.py\b")),
    ("an AWS ARN", re.compile(r"\barn:aws[\w-]*:")),
    # Twelve digits standing alone; a request id's (a UUID's) groups sit between dashes.
    ("an AWS account id", re.compile(r"(?<![\w-])\d{12}(?![\w-])")),
)
# A Server (or X-Powered-By) header that names a version tells an attacker what to look up.
VERSIONED_BANNER = re.compile(r"\d+\.\d+|/\s*\d")


class Outcome(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Result:
    name: str
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Options:
    url: str
    admin_token: str | None = None
    # An origin the deployment's stage allows (CORS_ALLOWED_ORIGINS); a remote URL does not say.
    allowed_origin: str | None = None
    # Where the webhooks' paths (/webhooks/<provider>) are appended; the API's URL by default
    # (the local twin serves them there).
    webhook_url: str | None = None
    # A provider's whole webhook URL, overriding the above (each is its own function URL in the cloud).
    webhook_urls: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 15.0

    def api(self, path: str) -> str:
        return self.url.rstrip("/") + path

    def webhook(self, webhook: Webhook) -> str:
        return self.webhook_urls.get(webhook.provider) or (self.webhook_url or self.url).rstrip("/") + webhook.path


Verdict = tuple[Outcome, str]
Check = Callable[[Probe, Options], Verdict]


def passed(reason: str) -> Verdict:
    return Outcome.PASS, reason


def failed(problems: Sequence[str]) -> Verdict:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Outcome.FAIL, f"{problems[0]}{more}"


def leaks_in(text: str) -> list[str]:
    """What of LEAKS the text shows, by name."""
    return [name for name, pattern in LEAKS if pattern.search(text)]


def _envelope_problem(answer: Answer, code: str | None = None) -> str | None:
    error = answer.error()
    if error is None:
        return f"{answer.summary} without the error envelope"
    if code is not None and error.get("code") != code:
        return f"{answer.summary} with code {error.get('code')!r}, not {code}"
    if not isinstance(error.get("request_id"), str) or not error["request_id"]:
        return f"{answer.summary} without a request_id"
    return None


# -- the checks -------------------------------------------------------------------------


def check_health(probe: Probe, options: Options) -> Verdict:
    answer = probe.request("GET", options.api("/health"))
    document = answer.json()
    if answer.status == 0:
        return failed([answer.summary])
    if not isinstance(document, dict):
        return failed([f"{answer.summary}, not a JSON object"])
    if answer.status != 200:
        down = [d.get("name") for d in document.get("dependencies") or [] if isinstance(d, dict)
                and d.get("status") != "ok"]
        return failed([f"{answer.summary} (status {document.get('status')!r}; down: {', '.join(map(str, down)) or '?'})"])
    problems = []
    if "error" in document:
        problems.append("the health answer is an error envelope")
    if document.get("status") not in ("ok", "degraded"):
        problems.append(f"status {document.get('status')!r}, not 'ok' or 'degraded'")
    if not isinstance(document.get("version"), str) or not document["version"]:
        problems.append("no version")
    if problems:
        return failed(problems)
    return passed(f"200, status {document['status']}, version {document['version']}")


def check_security_headers(probe: Probe, options: Options) -> Verdict:
    samples = [
        ("a 2xx", range(200, 300), probe.request("GET", options.api("/health"))),
        ("a 404", (404,), probe.request("GET", options.api(UNKNOWN_PATH))),
        ("an auth failure", (401,), probe.request("GET", options.api(_first_protected_get(SERVICE)))),
    ]
    if SERVICE.webhooks:
        webhook = SERVICE.webhooks[0][1]
        headers, body = _forgeries(webhook.provider)[0][1:]
        samples.append(("a webhook refusal", (401, 403),
                        probe.request("POST", options.webhook(webhook), headers, body)))
    problems = []
    for kind, statuses, answer in samples:
        if answer.status not in statuses:
            problems.append(f"{answer.summary}, not {kind}: its headers were not checked")
            continue
        missing = [name for name in SECURITY_HEADERS if answer.header(name) is None]
        wrong = [f"{name}: {answer.header(name)!r}" for name, value in SECURITY_HEADERS.items()
                 if answer.header(name) not in (None, value)]
        if missing:
            problems.append(f"{answer.summary} lacks {', '.join(missing)}")
        if wrong:
            problems.append(f"{answer.summary} has {'; '.join(wrong)}")
    if problems:
        return failed(problems)
    return passed(f"all {len(SECURITY_HEADERS)} on {', '.join(kind for kind, _, _ in samples)}")


def _preflight(probe: Probe, options: Options, origin: str) -> Answer:
    return probe.request("OPTIONS", options.api("/v1/auth/login"), {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": ",".join(h.lower() for h in CORS_ALLOWED_HEADERS),
    })


def check_cors_allowed(probe: Probe, options: Options) -> Verdict:
    origin = options.allowed_origin
    if not origin:
        return Outcome.SKIP, "no --allowed-origin given (one of the stage's CORS_ALLOWED_ORIGINS)"
    preflight = _preflight(probe, options, origin)
    actual = probe.request("GET", options.api("/health"), {"Origin": origin})
    problems = []
    if not 200 <= preflight.status < 300:
        problems.append(f"preflight {preflight.summary}")
    for answer in (preflight, actual):
        if answer.header("Access-Control-Allow-Origin") != origin:
            problems.append(f"{answer.summary}: Access-Control-Allow-Origin "
                            f"{answer.header('Access-Control-Allow-Origin')!r}, not {origin!r}")
        if "origin" not in answer.header_tokens("Vary"):
            problems.append(f"{answer.summary} without Vary: Origin")
    if "post" not in preflight.header_tokens("Access-Control-Allow-Methods"):
        problems.append(f"preflight allows methods {preflight.header('Access-Control-Allow-Methods')!r}, not POST")
    refused_headers = [h for h in CORS_ALLOWED_HEADERS
                       if h.lower() not in preflight.header_tokens("Access-Control-Allow-Headers")]
    if refused_headers:
        problems.append(f"preflight does not allow the headers {', '.join(refused_headers)}")
    if problems:
        return failed(problems)
    return passed(f"{origin} allowed: preflight {preflight.status} with methods and headers, Vary: Origin")


def check_cors_refused(probe: Probe, options: Options) -> Verdict:
    problems = []
    for answer in (_preflight(probe, options, REFUSED_ORIGIN),
                   probe.request("GET", options.api("/health"), {"Origin": REFUSED_ORIGIN})):
        if answer.status == 0:
            problems.append(answer.summary)
            continue
        granted = sorted({k for k, _ in answer.headers if k.lower().startswith("access-control-")})
        if granted:
            problems.append(f"{answer.summary} gives {REFUSED_ORIGIN} {', '.join(granted)}")
        if "origin" not in answer.header_tokens("Vary"):
            problems.append(f"{answer.summary} without Vary: Origin")
    if problems:
        return failed(problems)
    return passed(f"{REFUSED_ORIGIN} gets no Access-Control-* header; Vary: Origin")


def check_auth_without_token(probe: Probe, options: Options) -> Verdict:
    routes = _protected_routes(SERVICE)
    problems = []
    for method, path in routes:
        body = b"{}" if method in ("POST", "PUT", "PATCH") else None
        answer = probe.request(method, options.api(path), {"Content-Type": "application/json"} if body else {},
                               body)
        if answer.status != 401:
            problems.append(f"{answer.summary} without a token")
        elif (problem := _envelope_problem(answer)) is not None:
            problems.append(problem)
    if problems:
        return failed(problems)
    return passed(f"all {len(routes)} protected routes answer 401 in the envelope without a token")


def check_auth_forged_token(probe: Probe, options: Options) -> Verdict:
    declared = {route.key for _, route in SERVICE.routes if not route.is_public}
    keys = [k for k in FORGED_TOKEN_ROUTES if k in declared] or [f"GET {_first_protected_get(SERVICE)}"]
    problems = []
    for name, token in forged_tokens().items():
        for key in keys:
            method, path = key.split(" ", 1)
            answer = probe.request(method, options.api(path), {"Authorization": f"Bearer {token}"})
            if answer.status != 401:
                problems.append(f"{answer.summary} with {name}")
            elif (problem := _envelope_problem(answer)) is not None:
                problems.append(problem)
    if problems:
        return failed(problems)
    return passed(f"{', '.join(forged_tokens())} → 401 on {', '.join(keys)}")


def check_error_envelope(probe: Probe, options: Options) -> Verdict:
    login = options.api("/v1/auth/login")
    json_headers = {"Content-Type": "application/json"}
    problems = []
    for what, body in (("truncated JSON", b'{"email": "verify@example.in", "password": '),
                       ("bytes that are not UTF-8", b"\xff\xfe\x00")):
        answer = probe.request("POST", login, json_headers, body)
        if answer.status != 400:
            problems.append(f"{answer.summary} for {what}, not 400")
        elif (problem := _envelope_problem(answer, "MALFORMED_JSON")) is not None:
            problems.append(f"{problem} for {what}")
        else:
            error = answer.error() or {}
            echoed = answer.header("X-Request-Id")
            if echoed is not None and echoed != error.get("request_id"):
                problems.append(f"{answer.summary}: X-Request-Id {echoed!r} differs from the envelope's request_id")
        problems += [f"{answer.summary} shows {leak}" for leak in leaks_in(answer.text)]
    if problems:
        return failed(problems)
    return passed("malformed bodies → 400 MALFORMED_JSON with a request_id, nothing internal")


def check_webhook(webhook: Webhook, probe: Probe, options: Options) -> Verdict:
    problems = []
    tried = []
    for what, headers, body in _forgeries(webhook.provider):
        answer = probe.request("POST", options.webhook(webhook), headers, body)
        tried.append(f"{what} → {answer.status}")
        if answer.status not in (401, 403):
            problems.append(f"{answer.summary} for {what}, not 401/403")
        elif (problem := _envelope_problem(answer)) is not None:
            problems.append(f"{problem} for {what}")
    if problems:
        return failed(problems)
    return passed("; ".join(tried))


def check_admin_diagnostics(probe: Probe, options: Options) -> Verdict:
    if not options.admin_token:
        return Outcome.SKIP, "no admin token given"
    answer = probe.request("GET", options.api("/v1/admin/diagnostics"),
                           {"Authorization": f"Bearer {options.admin_token}"})
    document = answer.json()
    if answer.status != 200:
        return failed([f"{answer.summary} with the admin token"])
    if not isinstance(document, dict):
        return failed([f"{answer.summary}, not a JSON object"])
    missing = [key for key in DIAGNOSTICS_KEYS if key not in document]
    if missing:
        return failed([f"diagnostics lack {', '.join(missing)}"])
    health = document["health"].get("status") if isinstance(document["health"], dict) else None
    return passed(f"200: stage {document['stage']}, version {document['version']}, health {health}")


def check_tls(probe: Probe, options: Options) -> Verdict:
    parts = urlsplit(options.url)
    if parts.scheme != "https":
        return Outcome.SKIP, "the URL is not https"
    # A listener that never answers is as good as a refusal: no need to wait long for it.
    plain = parts._replace(scheme="http").geturl().rstrip("/") + "/health"
    answer = probe.request("GET", plain, timeout_seconds=min(5.0, options.timeout_seconds))
    if answer.status == 0:
        return passed(f"http:// refused ({answer.problem})")
    location = answer.header("Location") or ""
    if answer.status in (301, 302, 307, 308) and location.startswith("https://"):
        return passed(f"http:// redirects to {location}")
    return failed([f"http:// answered {answer.status} in the clear"])


def check_server_banner(probe: Probe, options: Options) -> Verdict:
    problems = []
    for answer in probe.seen:
        for name in ("Server", "X-Powered-By"):
            value = answer.header(name)
            if value is not None and (name == "X-Powered-By" or VERSIONED_BANNER.search(value)):
                problems.append(f"{answer.summary}: {name}: {value}")
    if problems:
        return failed(problems)
    return passed(f"no versioned Server or X-Powered-By on {len(probe.seen)} answers")


def check_no_internals(probe: Probe, options: Options) -> Verdict:
    # /health names a failing dependency's error code on purpose; everything else that failed is read.
    errors = [a for a in probe.seen if a.status >= 400 and urlsplit(a.url).path != "/health"]
    problems = [f"{answer.summary} shows {leak}" for answer in errors for leak in leaks_in(answer.text)]
    if problems:
        return failed(problems)
    return passed(f"nothing internal in {len(errors)} error answers")


# -- what the checks send ---------------------------------------------------------------


def _protected_routes(service: Service) -> list[tuple[str, str]]:
    paths = {(route.method, re.sub(r"\{[^}]+\}", PATH_PARAMETER, route.path))
             for _, route in service.routes if not route.is_public}
    return sorted(paths, key=lambda mp: (mp[1], mp[0]))


def _first_protected_get(service: Service) -> str:
    return next(path for method, path in _protected_routes(service) if method == "GET" and PATH_PARAMETER not in path)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_tokens() -> dict[str, str]:
    """JWTs claiming an admin: unsigned (`alg: none`), and signed with a key nobody issued."""
    claims = _b64url(json.dumps({"sub": "verify-forged", "token_use": "access", "cognito:groups": ["admin"],
                                 "exp": 4102444800, "iat": 1700000000}).encode())
    unsigned = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    foreign = _b64url(json.dumps({"alg": "RS256", "kid": "verify-forged", "typ": "JWT"}).encode())
    return {"an unsigned token": f"{unsigned}.{claims}.",
            "a token signed by nobody we trust": f"{foreign}.{claims}.{_b64url(bytes(256))}"}


def _forgeries(provider: str) -> list[tuple[str, dict[str, str], bytes]]:
    """Plausible deliveries with the provider's credentials wrong: (what, headers, body)."""
    json_type = {"Content-Type": "application/json"}
    if provider == "phonepe":
        payload = json.dumps({"event": "checkout.order.completed",
                              "payload": {"merchantOrderId": "ord_verify", "state": "COMPLETED", "amount": 100}})
        v1 = json.dumps({"response": base64.b64encode(payload.encode()).decode()})
        return [("a forged Authorization", {**json_type, "Authorization": "SHA256 "
                                            + hashlib.sha256(b"verify:forged").hexdigest()}, payload.encode()),
                ("a forged X-VERIFY", {**json_type, "X-VERIFY": f"{'0' * 64}###1"}, v1.encode())]
    if provider == "shiprocket":
        scan = json.dumps({"awb": "VERIFY0001", "current_status": "DELIVERED", "shipment_status_id": 7})
        return [("a forged x-api-key", {**json_type, "x-api-key": "verify-forged"}, scan.encode())]
    if provider == "razorpayx":
        event = json.dumps({"event": "payout.processed", "payload": {"payout": {"entity": {"id": "pout_verify"}}}})
        return [("a forged X-Razorpay-Signature", {**json_type, "X-Razorpay-Signature": "0" * 64,
                                                   "X-Razorpay-Event-Id": "evt_verify"}, event.encode())]
    # A provider this suite does not know yet: a delivery with no credentials at all.
    return [("no credentials", json_type, b"{}")]


CHECKS: tuple[tuple[str, Check], ...] = (
    ("health", check_health),
    ("security headers", check_security_headers),
    ("cors: allowed origin", check_cors_allowed),
    ("cors: other origin refused", check_cors_refused),
    ("auth: no token", check_auth_without_token),
    ("auth: forged token", check_auth_forged_token),
    ("error envelope", check_error_envelope),
    *((f"webhook forgery: {w.provider}", partial(check_webhook, w)) for _, w in SERVICE.webhooks),
    ("admin diagnostics", check_admin_diagnostics),
    ("tls", check_tls),
    # Last: these read every answer the checks above saw.
    ("server banner", check_server_banner),
    ("no internals", check_no_internals),
)


def run(options: Options, checks: Sequence[tuple[str, Check]] = CHECKS, probe: Probe | None = None) -> list[Result]:
    probe = probe or Probe(timeout_seconds=options.timeout_seconds)
    results: list[Result] = []
    for name, check in checks:
        if probe.seen and not any(a.status for a in probe.seen):
            # Nothing answered over HTTP (a wrong URL, a stack that is down): every further request
            # would only wait for its own timeout.
            results.append(Result(name, Outcome.SKIP, "nothing answered over HTTP so far"))
            continue
        try:
            outcome, reason = check(probe, options)
        except Exception as error:  # noqa: BLE001 - one broken check must not hide the others' results
            outcome, reason = Outcome.FAIL, f"the check itself failed: {type(error).__name__}: {error}"
        results.append(Result(name, outcome, reason))
    return results
