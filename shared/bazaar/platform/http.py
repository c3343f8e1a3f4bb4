"""The HTTP edge every API function shares: one resolver setup, one error envelope, one place
that maps failures to responses.

What a client can rely on for every route:
- every response carries `X-Request-Id` (theirs if they sent a sane one, else API Gateway's);
- a body over MAX_REQUEST_BODY_BYTES is refused with 413 before any parsing;
- a body sent with a Content-Type other than JSON is refused with 415 UNSUPPORTED_MEDIA_TYPE,
  and a body that is not JSON with 400 MALFORMED_JSON;
- a limited route (bazaar.platform.ratelimit) refuses a client over its limit with 429 THROTTLED
  and `Retry-After`, before the route runs;
- every response carries the security headers and the CORS headers of the stage's allow-list
  (bazaar.platform.headers), whatever it answered;
- the route's roles (from the description, via BAZAAR_ROUTE_ROLES) are checked again here after
  the authorizer, so a gateway misconfiguration cannot open a route;
- AWS throttling, a 5xx or an unreachable AWS endpoint (after the SDK's retries) is 503
  SERVICE_UNAVAILABLE with `Retry-After` (bazaar.platform.aws.aws_unavailable decides);
- failures come back as the envelope, never a stack trace, exception name or AWS detail.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar.platform.aws import RETRY_AFTER_SECONDS, aws_unavailable, round_trips
from bazaar.platform.authorizer_context import SECOND_FACTOR_CONTEXT_KEY, SECOND_FACTOR_REQUIRED
from bazaar.platform.errors import CATALOGUE, BazaarError, Unauthorized
from bazaar.platform.headers import edge_headers, request_origin
from bazaar.platform.observability import logger
from bazaar.platform.ratelimit import Client, RateLimiter
from bazaar.platform.settings import Settings

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# application/json and its structured-syntax relatives (application/problem+json, ...).
_POLICY = "Content-Security-Policy"
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[a-z0-9.+-]+\+)?json$")


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the authorizer established it."""

    user_id: str  # Bazaar's user id (`usr_...`), resolved from the token by the authorizer
    roles: frozenset[str]

    def has_any(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)


def error_body(code: str, message: str, request_id: str, details: list[dict[str, Any]] | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        error["details"] = details
    return {"error": error}


class HttpApi:
    """A powertools resolver wired to Bazaar's conventions. Build one per function at cold start
    and register routes on `.app` (or include routers)."""

    def __init__(self, settings: Settings, limiter: RateLimiter | None = None):
        self.settings = settings
        self.limiter = limiter or RateLimiter.for_function(settings)
        self.app = APIGatewayRestResolver(enable_validation=True)
        self._register_error_handlers()
        self.app.use(middlewares=[self._enforce_route_roles])

    # -- request facts --------------------------------------------------------------------

    @property
    def request_id(self) -> str:
        return _request_id(self.app.current_event.raw_event)

    @property
    def principal(self) -> Principal | None:
        authorizer = (self.app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
        user_id = authorizer.get("user_id")
        if not user_id:
            return None
        roles = frozenset(r for r in str(authorizer.get("roles", "")).split(",") if r)
        return Principal(user_id=user_id, roles=roles)

    @property
    def access_token(self) -> str:
        """The caller's bearer token, for the few calls the directory makes on the user's own
        behalf (enrolling an authenticator); the authorizer has already accepted it."""
        scheme, _, token = str(self.app.current_event.headers.get("Authorization")
                               or self.app.current_event.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Sign in first.")
        return token.strip()

    @property
    def caller(self) -> Principal:
        """The signed-in caller of a route that has roles (the role check already refused anyone
        else); 401 if there is none, so a misdescribed public route cannot act for nobody."""
        principal = self.principal
        if principal is None:
            raise Unauthorized("Sign in first.")
        return principal

    # -- the Lambda entry -----------------------------------------------------------------

    def handle(self, event: dict, context: LambdaContext) -> dict:
        request_id = _request_id(event)
        logger.set_correlation_id(request_id)
        round_trips.reset()
        refusal = self._refuse_unreadable_body(event, request_id) or self._refuse_over_limit(event, request_id)
        response = refusal if refusal is not None else self.app.resolve(event, context)
        headers = response.setdefault("headers", {}) or {}
        edge = edge_headers(request_origin(event.get("headers")), self.settings.cors_allowed_origins)
        page_policy = headers.get(_POLICY) or (response.get("multiValueHeaders") or {}).get(_POLICY, [None])[0]
        if page_policy:
            # An HTML page (the API docs) states exactly what it loads; the default allows nothing.
            edge[_POLICY] = page_policy
        if headers.get("Vary") and "origin" not in headers["Vary"].lower():
            edge["Vary"] = f"{headers['Vary']}, Origin"
        headers.update(edge)
        headers["X-Request-Id"] = request_id
        if self.settings.count_aws_calls:
            headers["X-Bazaar-Aws-Calls"] = round_trips.header()
        response["headers"] = headers
        if response.get("multiValueHeaders"):
            # API Gateway prefers these over `headers` for a name in both: keep them in step.
            for name in (*edge, "X-Request-Id"):
                response["multiValueHeaders"][name] = [headers[name]]
        return response

    def _refuse_over_limit(self, event: dict, request_id: str) -> dict | None:
        if self.limiter is None:
            return None
        context = event.get("requestContext") or {}
        sender = Client(
            ip=(context.get("identity") or {}).get("sourceIp"),
            user_id=(context.get("authorizer") or {}).get("user_id"),
            body=_body_text(event),
        )
        retry_after = self.limiter.retry_after(f"{event.get('httpMethod')} {event.get('resource')}", sender)
        if retry_after is None:
            return None
        response = _plain_response(429, error_body("THROTTLED", "Too many requests; retry after Retry-After "
                                                                "seconds.", request_id))
        response["headers"]["Retry-After"] = str(retry_after)
        return response

    def _refuse_unreadable_body(self, event: dict, request_id: str) -> dict | None:
        body = event.get("body")
        if not body:
            return None
        size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8"))
        limit = self.settings.max_request_body_bytes
        if size > limit:
            return _plain_response(
                413, error_body("PAYLOAD_TOO_LARGE", f"The request body is over {limit} bytes.", request_id)
            )
        if event.get("httpMethod") in _BODY_METHODS:
            media_type = _header(event, "content-type").split(";", 1)[0].strip().lower()
            if media_type and not _JSON_MEDIA_TYPE.match(media_type):
                return _plain_response(415, error_body(
                    "UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON (Content-Type: application/json).", request_id))
            text = _body_text(event)
            try:
                if text is None:
                    raise ValueError("not UTF-8")
                json.loads(text)
            except ValueError:
                return _plain_response(
                    400, error_body("MALFORMED_JSON", "The request body is not valid JSON.", request_id)
                )
        return None

    # -- authorisation --------------------------------------------------------------------

    def _enforce_route_roles(self, app: APIGatewayRestResolver, next_middleware):
        event = app.current_event.raw_event
        route_key = f"{event.get('httpMethod')} {event.get('resource')}"
        allowed = self.settings.route_roles.get(route_key)
        if allowed is None:
            # The description did not give this function the route: refuse rather than guess.
            logger.error("route not declared for this function", extra={"route": route_key})
            return self._error(HTTPStatus.NOT_FOUND, "NOT_FOUND", "No route matches this method and path.")
        if not allowed:
            return next_middleware(app)
        principal = self.principal
        if principal is None:
            return self._error(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "A valid access token is required.")
        authorizer = event.get("requestContext", {}).get("authorizer") or {}
        if authorizer.get(SECOND_FACTOR_CONTEXT_KEY) == SECOND_FACTOR_REQUIRED:
            # The authorizer let the request through only to say why it is refused (its own
            # refusal would be a bare 403); the roles it passed are none.
            return self._error(HTTPStatus.FORBIDDEN, "MFA_REQUIRED",
                               "This route needs a second factor: enrol an authenticator app at "
                               "POST /v1/me/mfa/totp, then sign in again.")
        if not principal.has_any(frozenset(allowed)):
            return self._error(HTTPStatus.FORBIDDEN, "FORBIDDEN", "Your role may not call this route.")
        return next_middleware(app)

    # -- errors ---------------------------------------------------------------------------

    def _error(
        self, status: int, code: str, message: str, details: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return Response(
            status_code=int(status),
            content_type=content_types.APPLICATION_JSON,
            body=error_body(code, message, self.request_id, details),
            headers=dict(headers or {}),
        )

    def _register_error_handlers(self) -> None:
        app = self.app

        @app.exception_handler(BazaarError)
        def _domain_error(error: BazaarError) -> Response:
            logger.info("request refused", extra={"code": error.code, "reason": error.message})
            return self._error(error.status, error.code, error.message, error.details, error.headers)

        @app.exception_handler(RequestValidationError)
        def _invalid_request(error: RequestValidationError) -> Response:
            details = [_detail(e) for e in error.errors()]
            if any(e.get("type") == "json_invalid" for e in error.errors()):
                return self._error(400, "MALFORMED_JSON", "The request body is not valid JSON.")
            return self._error(400, "VALIDATION_FAILED", "The request is not valid; see details.", details)

        @app.not_found
        def _no_route(_: NotFoundError) -> Response:
            return self._error(404, "NOT_FOUND", "No route matches this method and path.")

        @app.exception_handler(Exception)
        def _unexpected(error: Exception) -> Response:
            if aws_unavailable(error):
                logger.warning("AWS busy or unavailable", extra={"error": repr(error)})
                return self._error(503, "SERVICE_UNAVAILABLE", CATALOGUE["SERVICE_UNAVAILABLE"].meaning,
                                   headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            # The log keeps the stack trace for us; the client gets only the request id to quote.
            logger.exception("unhandled error")
            return self._error(500, "INTERNAL_ERROR", CATALOGUE["INTERNAL_ERROR"].meaning)


def _detail(error: dict) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    field = ""
    for part in location:
        field += f"[{part}]" if part.isdigit() else (f".{part}" if field else part)
    # Only pydantic's message: the offending input is never echoed back.
    return {"field": field or "body", "issue": str(error.get("msg", "invalid"))}


def _header(event: dict, name: str) -> str:
    return next((str(v) for k, v in (event.get("headers") or {}).items() if k.lower() == name), "")


def _request_id(event: dict) -> str:
    client_id = _header(event, "x-request-id")
    if client_id and _CLIENT_REQUEST_ID.match(client_id):
        return client_id
    context = event.get("requestContext") or {}
    return context.get("requestId") or "unknown"


def _body_text(event: dict) -> str | None:
    """The body as text: every route takes JSON, and a body API Gateway passed base64-encoded
    (it was not UTF-8 text) is JSON only if it decodes as UTF-8, which is what JSON must be.
    None when it does not decode."""
    body = event.get("body")
    if not body or not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except ValueError:  # UnicodeDecodeError and binascii.Error are ValueErrors too
        return None


def _plain_response(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
