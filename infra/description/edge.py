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

# The cloud's web ACL (AWS WAF) in front of the REST API; the limits per stage are
# Stage.ip_rate_limits, the strictly limited paths Api.strict_rate_limit_paths.
WEB_ACL_STRICT_RULE = "strict-per-ip"
WEB_ACL_GENERAL_RULE = "per-ip"
# A managed rule group by AWS, and those of its rules that only count (never block). The common
# rule set's SizeRestrictions_BODY blocks bodies over 8 KB, but Bazaar accepts bodies up to
# MAX_REQUEST_BODY_BYTES (64 KiB) and answers a larger one 413 in its envelope: that limit decides.
WEB_ACL_COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
WEB_ACL_COUNTED_COMMON_RULES = ("SizeRestrictions_BODY",)
# How long a client whose requests a rate rule blocks is told to wait: WAF's counting window.
WEB_ACL_RATE_WINDOW_SECONDS = 300
