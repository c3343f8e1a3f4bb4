"""The local API gateway: what API Gateway (REST API + Lambda authorizer) and Lambda function URLs
do in the cloud, on 127.0.0.1, from the same description.

For each HTTP request it finds the described route, answers the gateway's own errors (unknown
route, missing token, body over API Gateway's limit, throttling) in the envelope the description
gives, answers CORS preflights (OPTIONS on a route's path) as the cloud's mock integration does,
calls the authorizer function for non-public routes, builds the exact proxy event, invokes
the route's function through the local runtime and writes the function's response back unchanged.
Paths under /_local/ are the local twin's own controls (topology, schedules, crash points, OpenAPI,
Swagger UI).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from infra.description.edge import CORS_ALLOWED_HEADERS, CORS_MAX_AGE_SECONDS, SECURITY_HEADERS
from infra.description.model import Function, GatewayResponse, Route, Service
from infra.local import events
from infra.local.loopback import BannerlessHandler, LoopbackServer
from infra.local.runtime import FunctionRuntime, Invocation

# What every answer the gateway gives itself carries (infra/description/edge.py): a function's
# answers carry the same, added by the function (bazaar.platform.headers).
_EDGE_HEADERS = [*SECURITY_HEADERS.items(), ("Vary", "Origin")]


@dataclass(frozen=True)
class _CompiledRoute:
    function: Function
    route: Route
    pattern: re.Pattern

    @classmethod
    def of(cls, function: Function, route: Route) -> _CompiledRoute:
        regex = re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
        return cls(function, route, re.compile(f"^{regex}$"))

    @property
    def specificity(self) -> tuple[int, int]:
        # API Gateway prefers literal path parts over {parameters}.
        return (self.route.path.count("{"), -len(self.route.path))


class TokenBucket:
    """Stage throttling: `rate` requests per second with bursts up to `burst`."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


@dataclass
class HttpResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


ControlHandler = Callable[[str, str, bytes], "HttpResult | None"]


class Gateway:
    def __init__(
        self,
        service: Service,
        runtimes: dict[str, FunctionRuntime],
        control: ControlHandler,
        access_log: Callable[[dict], None] = lambda entry: None,
    ):
        self.service = service
        self.runtimes = runtimes
        self.control = control
        self.access_log = access_log
        routes = [_CompiledRoute.of(f, r) for f, r in service.routes]
        self.routes = sorted(routes, key=lambda r: r.specificity)
        self.webhooks = {w.path: f for f, w in service.webhooks}
        self.responses = {r.kind: r for r in service.api.gateway_responses}
        self.throttle = TokenBucket(service.api.throttle_rate_per_second, service.api.throttle_burst)
        self.allowed_origins = frozenset(
            o for o in service.settings.get("CORS_ALLOWED_ORIGINS", "").split(",") if o)
        self.methods_by_path: dict[str, list[str]] = {}
        for compiled in self.routes:
            self.methods_by_path.setdefault(compiled.route.path, []).append(compiled.route.method)

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str) -> HttpResult:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        if path.startswith("/_local/") or path == "/_local":
            result = self.control(method, target, body)
            return result or self._gateway_error("MISSING_AUTHENTICATION_TOKEN", str(uuid.uuid4()))
        if path in self.webhooks:
            return self._webhook(self.webhooks[path], method, path, parts.query, headers, body, source_ip)
        return self._api(method, path, parts.query, headers, body, source_ip)

    def _api(self, method, path, query, headers, body, source_ip) -> HttpResult:
        request_id = str(uuid.uuid4())
        if not self.throttle.take():
            return self._gateway_error("THROTTLED", request_id)
        if len(body) > self.service.api.gateway_max_body_bytes:
            return self._gateway_error("REQUEST_TOO_LARGE", request_id)
        if method == "OPTIONS":
            return self._preflight(path, headers, request_id)
        match = self._match(method, path)
        if match is None:
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id)
        compiled, parameters = match
        event = events.rest_proxy_event(
            method=method,
            resource=compiled.route.path,
            path=path,
            path_parameters=parameters,
            query=query,
            headers=headers,
            body=body,
            source_ip=source_ip,
        )
        request_id = event["requestContext"]["requestId"]
        if not compiled.route.is_public:
            refusal = self._authorize(event)
            if refusal is not None:
                return self._gateway_error(refusal, request_id)
        invocation = self.runtimes[compiled.function.name].invoke(event)
        return self._from_lambda(invocation, request_id)

    def _authorize(self, event: dict) -> str | None:
        """Returns the gateway response kind that refuses the request, or None to let it in."""
        headers = {k.lower(): v for k, v in (event["headers"] or {}).items()}
        if not headers.get("authorization"):
            # The identity source is missing: API Gateway answers 401 without calling the authorizer.
            return "UNAUTHORIZED"
        started = time.perf_counter()
        result = self.runtimes[self.service.api.authorizer].invoke(events.authorizer_event(event))
        if result.failed:
            return "UNAUTHORIZED" if (result.error or {}).get("errorMessage") == "Unauthorized" else "DEFAULT_5XX"
        policy = result.payload or {}
        if not policy_allows(policy, events.authorizer_event(event)["methodArn"]):
            return "ACCESS_DENIED"
        event["requestContext"]["authorizer"] = {
            **{k: str(v) for k, v in (policy.get("context") or {}).items()},
            "principalId": policy.get("principalId"),
            "integrationLatency": int((time.perf_counter() - started) * 1000),
        }
        return None

    def _webhook(self, function, method, path, query, headers, body, source_ip) -> HttpResult:
        event = events.function_url_event(
            method=method, path=path, query=query, headers=headers, body=body, source_ip=source_ip,
            url_id=function.name.replace("-", ""),
        )
        invocation = self.runtimes[function.name].invoke(event)
        if invocation.failed:
            # Function URLs answer a crashed function with a bare 502, not an API Gateway response.
            return HttpResult(502, [("Content-Type", "application/json"), *_EDGE_HEADERS],
                              b'{"Message":"Internal Server Error"}')
        payload = invocation.payload
        if isinstance(payload, dict) and "statusCode" in payload:
            return _lambda_http_response(payload)
        return HttpResult(200, [("Content-Type", "application/json")], json.dumps(payload).encode())

    def _preflight(self, path: str, headers: list[tuple[str, str]], request_id: str) -> HttpResult:
        """A CORS preflight, answered without the authorizer or any function: the resource the
        path falls on (the most specific route path matching it) answers 204 with its declared
        methods for an allowed origin, and with no Access-Control-* header for any other."""
        resource = next((c.route.path for c in self.routes if c.pattern.match(path)), None)
        if resource is None:
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id)
        answer = [*_EDGE_HEADERS, ("X-Request-Id", request_id)]
        origin = next((v for k, v in headers if k.lower() == "origin"), None)
        if origin is not None and origin in self.allowed_origins:
            answer += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Methods", ",".join(sorted({*self.methods_by_path[resource], "OPTIONS"}))),
                ("Access-Control-Allow-Headers", ",".join(CORS_ALLOWED_HEADERS)),
                ("Access-Control-Max-Age", str(CORS_MAX_AGE_SECONDS)),
            ]
        return HttpResult(204, answer, b"")

    def _match(self, method: str, path: str) -> tuple[_CompiledRoute, dict[str, str]] | None:
        for compiled in self.routes:
            if compiled.route.method != method:
                continue
            found = compiled.pattern.match(path)
            if found:
                return compiled, found.groupdict()
        return None

    # -- responses ------------------------------------------------------------------------

    def _from_lambda(self, invocation: Invocation, request_id: str) -> HttpResult:
        payload = invocation.payload
        if invocation.failed or not isinstance(payload, dict) or "statusCode" not in payload:
            # A crashed function or a malformed proxy response: API Gateway answers its own 5xx.
            return self._gateway_error("DEFAULT_5XX", request_id)
        return _lambda_http_response(payload)

    def _gateway_error(self, kind: str, request_id: str) -> HttpResult:
        response: GatewayResponse = self.responses.get(kind) or self.responses[
            "DEFAULT_5XX" if kind.startswith(("DEFAULT_5XX", "AUTHORIZER", "INTEGRATION")) else "DEFAULT_4XX"
        ]
        body = {"error": {"code": response.code, "message": response.message, "request_id": request_id}}
        headers = [("Content-Type", "application/json"), ("X-Request-Id", request_id), *_EDGE_HEADERS,
                   *([("Retry-After", str(response.retry_after_seconds))]
                     if response.retry_after_seconds is not None else [])]
        return HttpResult(response.status, headers, json.dumps(body).encode())


def _lambda_http_response(payload: dict) -> HttpResult:
    headers: list[tuple[str, str]] = []
    multi = payload.get("multiValueHeaders") or {}
    for key, value in (payload.get("headers") or {}).items():
        if key not in multi:
            headers.append((key, str(value)))
    for key, values in multi.items():
        headers += [(key, str(v)) for v in values]
    for cookie in payload.get("cookies") or []:
        headers.append(("Set-Cookie", cookie))
    body: Any = payload.get("body") or ""
    raw = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode("utf-8")
    return HttpResult(int(payload["statusCode"]), headers, raw)


def policy_allows(policy: dict, method_arn: str) -> bool:
    """An authorizer's policy allows the method when some statement allows it and none denies it."""
    statements = (policy.get("policyDocument") or {}).get("Statement") or []
    return any(
        s.get("Effect") == "Allow" and _arn_matches(s.get("Resource"), method_arn) for s in statements
    ) and not any(s.get("Effect") == "Deny" and _arn_matches(s.get("Resource"), method_arn) for s in statements)


def _arn_matches(resource: Any, arn: str) -> bool:
    resources = resource if isinstance(resource, list) else [resource]
    return any(re.fullmatch(re.escape(r).replace(r"\*", ".*"), arn) for r in resources if isinstance(r, str))


class GatewayServer:
    """Serves a Gateway over HTTP on 127.0.0.1."""

    def __init__(self, gateway: Gateway, port: int):
        self.server = LoopbackServer(_handler_class(gateway), port=port, name="local-gateway")
        self.port = self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def _handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BannerlessHandler):
        protocol_version = "HTTP/1.1"
        server_version = "bazaar-local-gateway"
        server: Any  # the stdlib types it as BaseServer; the loopback server has `stopping`

        def _serve(self) -> None:
            started = time.perf_counter()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.server.stopping:
                # A request on a kept-alive connection after stop() began: no new invocation.
                result = HttpResult(503, [("Content-Type", "application/json"), *_EDGE_HEADERS],
                                    b'{"error":{"code":"STOPPING","message":"The local stack is stopping."}}')
            else:
                result = gateway.handle(self.command, self.path, list(self.headers.items()), body,
                                        self.client_address[0])
            self.send_response(result.status)
            names = {k.lower() for k, _ in result.headers}
            for key, value in result.headers:
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            if "content-type" not in names:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(result.body)))
            if self.server.stopping:
                self.send_header("Connection", "close")  # and the stdlib closes it after this answer
            try:
                self.end_headers()
                self.wfile.write(result.body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up waiting (as a provider's webhook sender does): its loss, not ours.
                self.close_connection = True
            gateway.access_log(
                {
                    "method": self.command,
                    "path": self.path,
                    "status": result.status,
                    "ip": self.client_address[0],
                    "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                    "request_id": next((v for k, v in result.headers if k.lower() == "x-request-id"), None),
                }
            )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, CONNECT, made-up ones) routes to nothing, as on API Gateway:
            # answered in the envelope, not with the stdlib's HTML 501 page.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the access log above replaces the stdlib's stderr lines

    return Handler
