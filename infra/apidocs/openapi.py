"""The published OpenAPI document: each API function's own resolver document (powertools builds
it from the routes' pydantic models), merged, plus what only the description and the HTTP edge
know: each route's context (its tag), roles and bearer scheme, and every status the route can
answer with the error envelope's schema.

What the edge answers, and so what each operation documents (bazaar.platform.http and the
gateway responses in infra/description/bazaar.py):
- 400 VALIDATION_FAILED / MALFORMED_JSON where there is anything to validate (parameters or a
  body, or a method that takes a body: every body must be JSON);
- 401 and 403 on every route that needs a token (the authorizer and the role re-check);
- 404 where the path names a resource, or the handler says so;
- 409 and 422 where an Idempotency-Key is taken (in use / reused with another body), or the
  handler says so;
- 413 and 415 on methods that take a body (over MAX_REQUEST_BODY_BYTES; not sent as JSON),
  before any parsing;
- 429 everywhere (the stage throttle can answer any route) with Retry-After when the app knows;
- 500 and 504 everywhere (an unexpected failure; API Gateway gives up after 29 s).
The framework's default 422 (its own validation error shape) is never answered and is dropped.

The document is generated once, at build time (`python -m infra.apidocs`), into
shared/bazaar/ops/openapi.json, which the ops API serves as it is in both twins: no function
imports every context's handlers to answer it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bazaar.platform.errors import CATALOGUE
from infra.description.model import Function, Service

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_PATH = ROOT / "shared" / "bazaar" / "ops" / "openapi.json"

# One tag per bounded context, in the order a reader meets them.
CONTEXT_TAGS = {
    "ops": "Service health, admin diagnostics and this document.",
    "identity": "Accounts, sign-in, tokens and sessions, scouts' referrals; admin user management and audit.",
    "notifications": "The caller's notification feed and per-kind delivery preferences.",
    "catalog": "Products and variants: the public listing and sellers' own catalogue and stock.",
    "checkout": "Locking a cart's stock into an order awaiting payment; expired-lock cleanup.",
    "orders": "Shoppers' orders, their status history and events; admin order actions.",
    "payments": "PhonePe payments (their webhooks are described in docs/webhooks.md).",
    "shipping": "Shiprocket shipments (their webhooks are described in docs/webhooks.md).",
    "payouts": "Sellers' and scouts' payout accounts, earnings, statements and withdrawals; admin payouts.",
    "refunds": "Shoppers' refund requests and the admin approval workflow.",
    "realtime": "Live order and operational events over the WebSocket API (see docs/realtime.md).",
}

_BODY_METHODS = {"post", "put", "patch", "delete"}
# Responses that carry a report rather than the error envelope: /health's 503 is the same health
# report as its 200, naming what is down, for probes and load balancers to read.
_REPORTS = {("/health", "get", "503")}
# The framework's validation error shapes, which the edge never answers (it answers 400 in the envelope).
_FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _codes(status: int) -> str:
    return ", ".join(code for code, kind in CATALOGUE.items() if kind.status == status)


_REQUEST_ID_HEADER = {"$ref": "#/components/headers/X-Request-Id"}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

# The answers the edge gives whatever the handler does, as reusable components.
_STANDARD: dict[str, dict[str, Any]] = {
    "400": {"name": "BadRequest",
            "description": "VALIDATION_FAILED (details name each field and issue), MALFORMED_JSON, or another "
                           f"refusal of the request itself: {_codes(400)}."},
    "401": {"name": "Unauthorized", "description": "UNAUTHORIZED: no access token, or an invalid, expired or "
                                                   f"revoked one (every 401 code: {_codes(401)})."},
    "403": {"name": "Forbidden", "description": "FORBIDDEN: the caller's role may not call this route (every 403 "
                                                f"code: {_codes(403)})."},
    "404": {"name": "NotFound", "description": "NOT_FOUND: no such resource visible to the caller."},
    "409": {"name": "Conflict", "description": f"The request conflicts with the resource's state: {_codes(409)}."},
    "413": {"name": "PayloadTooLarge", "description": "PAYLOAD_TOO_LARGE: the body is over MAX_REQUEST_BODY_BYTES."},
    "415": {"name": "UnsupportedMediaType", "description": "UNSUPPORTED_MEDIA_TYPE: the body was sent with a "
                                                          "Content-Type other than application/json."},
    "422": {"name": "Unprocessable", "description": f"Understood but refused: {_codes(422)}."},
    "429": {"name": "TooManyRequests",
            "description": "THROTTLED: the stage's throttle or a per-client limit (docs/rate-limits.md); retry "
                           "after Retry-After seconds when it is given.",
            "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}},
    "500": {"name": "InternalError", "description": "INTERNAL_ERROR: something went wrong on our side; quote the "
                                                    "request_id."},
    "502": {"name": "BadGateway", "description": f"A provider refused the request: {_codes(502)}."},
    "503": {"name": "Unavailable", "description": f"A dependency did not answer; retry later: {_codes(503)}."},
    "504": {"name": "Timeout", "description": "UPSTREAM_TIMEOUT: the request took too long (API Gateway gives up "
                                              "after 29 s); it may still have been applied."},
}


def error_schema() -> dict[str, Any]:
    """The envelope every failure leaves Bazaar in (bazaar.platform.http.error_body)."""
    return {
        "type": "object",
        "description": "The error envelope: every 4xx and 5xx answer, whoever answers it.",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "request_id"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": list(CATALOGUE),
                             "description": "What went wrong, for programs (docs/errors.md)."},
                    "message": {"type": "string", "description": "What went wrong, for people."},
                    "request_id": {"type": "string", "description": "Quote it to us; also in X-Request-Id."},
                    "details": {
                        "type": "array",
                        "description": "What exactly: e.g. {field, issue} per invalid field.",
                        "items": {"type": "object"},
                    },
                },
            },
        },
    }


def _components(documents: dict[str, dict | None]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for document in documents.values():
        schemas.update((document or {}).get("components", {}).get("schemas", {}))
    for name in _FRAMEWORK_SCHEMAS:
        schemas.pop(name, None)
    schemas["Error"] = error_schema()
    return {
        "schemas": dict(sorted(schemas.items())),
        "responses": {
            spec["name"]: {
                "description": spec["description"],
                "headers": {"X-Request-Id": _REQUEST_ID_HEADER, **spec.get("headers", {})},
                "content": _ERROR_CONTENT,
            }
            for spec in _STANDARD.values()
        },
        "headers": {
            "X-Request-Id": {
                "description": "The request's id (yours if you sent a sane X-Request-Id, else ours); on every answer.",
                "required": True,
                "schema": {"type": "string"},
            },
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": False,
                "schema": {"type": "integer", "minimum": 0},
            },
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                       "description": "The access token from POST /v1/auth/login "
                                                      "(docs/authentication.md)."}},
    }


def _statuses(path: str, method: str, operation: dict, public: bool) -> set[str]:
    """The statuses the edge can answer for this operation, whatever the handler declared."""
    parameters = operation.get("parameters", [])
    statuses = {"429", "500", "504"}
    if parameters or "requestBody" in operation or method in _BODY_METHODS:
        statuses.add("400")
    if method in _BODY_METHODS:
        statuses |= {"413", "415"}
    if not public:
        statuses |= {"401", "403"}
    if "{" in path:
        statuses.add("404")
    if any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in parameters):
        statuses |= {"409", "422"}
    return statuses


def _document_responses(path: str, method: str, operation: dict, public: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    framework_default = responses.get("422", {}).get("description") == "Validation Error"
    if framework_default:
        del responses["422"]
    if not any(status.startswith("2") for status in responses):
        # powertools documents the success answer only when the route declares no responses.
        raise ValueError(f"{method.upper()} {path} documents no success answer: add it to the route's responses=")
    for status in sorted(_statuses(path, method, operation, public) - set(responses)):
        responses[status] = {"$ref": f"#/components/responses/{_STANDARD[status]['name']}"}
    for status, response in responses.items():
        if "$ref" in response:
            continue
        response.setdefault("headers", {})["X-Request-Id"] = _REQUEST_ID_HEADER
        if int(status) >= 400 and (path, method, status) not in _REPORTS:
            # A handler's own error entry: its description says which codes; the body is the
            # envelope (powertools would otherwise put the success model here).
            response["content"] = _ERROR_CONTENT
            if status == "429":
                response["headers"]["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    operation["responses"] = dict(sorted(responses.items()))


def build(service: Service, documents: dict[str, dict | None]) -> dict:
    """The document, from each API function's resolver document (by function name)."""
    functions: dict[str, Function] = {f.name: f for f in service.functions}
    contexts = {functions[name].context for name in documents if name in functions}
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Bazaar API",
            "version": service.settings.get("BAZAAR_VERSION", "0"),
            "description": "Bazaar's REST API. Every failure is the error envelope (components/schemas/Error) "
                           "with a code from docs/errors.md; versioning: docs/versioning.md; authentication: "
                           "docs/authentication.md.",
        },
        "tags": [{"name": name, "description": text} for name, text in CONTEXT_TAGS.items() if name in contexts],
        "paths": {},
        "components": _components(documents),
        "x-error-codes": {code: {"status": k.status, "meaning": k.meaning} for code, k in CATALOGUE.items()},
    }
    for document in documents.values():
        for path, operations in (document or {}).get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(operations)
    for function, route in service.routes:
        operation = merged["paths"].get(route.path, {}).get(route.method.lower())
        if operation is None:
            continue
        roles = ", ".join(sorted(route.roles or ())) or "public (no token)"
        operation["description"] = f"{operation.get('description', '')}\n\nRoles: {roles}".strip()
        operation.setdefault("summary", route.summary)
        operation["tags"] = [function.context]
        if not route.is_public:
            operation["security"] = [{"bearer": []}]
        _document_responses(route.path, route.method.lower(), operation, route.is_public)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged


def render(document: dict) -> str:
    """The document's bytes, as committed and served."""
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def handler_documents(service: Service) -> dict[str, dict | None]:
    """Each API function's resolver document, read in a child process that imports the functions'
    modules with their own environment (made-up physical names: nothing is called)."""
    names = [f.name for f in service.functions if f.routes]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")])}
    result = subprocess.run(
        [sys.executable, "-m", "infra.apidocs.resolvers", *names],
        cwd=ROOT, env=environment, capture_output=True, text=True, check=False, timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"reading the API functions' documents failed:\n{result.stderr}")
    return json.loads(result.stdout)


def generate(service: Service) -> str:
    return render(build(service, handler_documents(service)))
