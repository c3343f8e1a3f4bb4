"""What every HTTP answer of the API and the webhooks carries, in both twins: the security
headers and the CORS rules. The cloud twin writes these into API Gateway (its own error
responses and the preflight answers); the functions add them to theirs through
bazaar.platform (which keeps its own copy, held equal to this one by a unit test, because the
description never imports the application)."""

from __future__ import annotations

from types import MappingProxyType

# On every response, whoever answers it (a function, the gateway, a webhook URL).
SECURITY_HEADERS = MappingProxyType({
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The API answers JSON: nothing in it may load anything or be framed.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    # Answers are per caller (authenticated) or errors: no shared cache may keep them.
    "Cache-Control": "no-store",
})

# CORS, for origins in the stage's allow-list (CORS_ALLOWED_ORIGINS) only. A preflight
# (OPTIONS on any route's path) is answered 204 with `Vary: Origin` always, and for an allowed
# origin also Access-Control-Allow-Origin (that origin), -Allow-Methods (the path's declared
# methods and OPTIONS, sorted, comma-separated), -Allow-Headers and -Max-Age below. An actual
# response to an allowed origin carries Access-Control-Allow-Origin and -Expose-Headers; every
# response carries `Vary: Origin`. An origin not in the list gets no Access-Control-* header.
CORS_ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id")
CORS_EXPOSED_HEADERS = ("Retry-After", "X-Request-Id")
CORS_MAX_AGE_SECONDS = 600
