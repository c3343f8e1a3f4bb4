"""The headers every HTTP answer of Bazaar carries: the security headers, and the CORS headers
of an actual (not preflight) response. The values are the contract in the description
(infra/description/edge.py), which the gateway's own answers follow in both twins; the
application keeps this copy because it never imports the description, and a unit test holds
the two equal."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

SECURITY_HEADERS: Mapping[str, str] = MappingProxyType({
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Every answer is JSON: nothing in it may load anything or be framed.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    # Answers are per caller or errors: no shared cache may keep them.
    "Cache-Control": "no-store",
})

CORS_ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id")
CORS_EXPOSED_HEADERS = ("Retry-After", "X-Request-Id")
CORS_MAX_AGE_SECONDS = 600


def cors_headers(origin: str | None, allowed_origins: Collection[str]) -> dict[str, str]:
    """The CORS headers of an actual response: `Vary: Origin` always (a cache must not hand one
    origin's answer to another), the allow and expose headers only for an allowed origin. An
    origin is compared exactly (scheme, host and port), never by pattern."""
    headers = {"Vary": "Origin"}
    if origin and origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = ",".join(CORS_EXPOSED_HEADERS)
    return headers


def edge_headers(origin: str | None, allowed_origins: Collection[str]) -> dict[str, str]:
    """Everything a function adds to each of its answers, whatever it answered."""
    return {**SECURITY_HEADERS, **cors_headers(origin, allowed_origins)}


def request_origin(headers: Mapping[str, str] | None) -> str | None:
    """The request's Origin header, whatever case the client (or the event) spelled it in."""
    return next((str(v) for k, v in (headers or {}).items() if str(k).lower() == "origin"), None)
