"""Bazaar, described once. Both twins are built from `SERVICE`. Each context declares its own
tables, queues, secrets, functions and alarms in infra/description/contexts/<context>.py; list a
new context in CONTEXTS below. Nothing about topology is written anywhere else."""

from __future__ import annotations

from infra.description.contexts import (
    catalog, checkout, identity, notifications, ops, orders, payments, payouts, realtime, refunds, shipping,
)
from infra.description.model import Api, FeatureFlags, GatewayResponse, Key, Network, Secret, Service, Table, UserPool
from infra.description.settings import SETTINGS, VERSION
from infra.description.stages import STAGES

CONTEXTS = (ops, identity, notifications, catalog, checkout, orders, payments, shipping, payouts, refunds, realtime)


def _gather(kind: str) -> tuple:
    return tuple(item for context in CONTEXTS for item in getattr(context, kind, ()))


# Keys Bazaar itself owns; provider credentials are declared by their contexts.
SECRETS = (
    Secret(
        name="app-keys",
        purpose="Keys Bazaar itself owns: the HMAC key that makes list cursors tamper-evident.",
        fields=("cursor_signing_key",),
    ),
)

# Per-client request counters of the limited routes (bazaar.platform.ratelimit): one item per
# route, client and fixed window; TTL clears windows that have ended.
RATE_LIMIT_TABLE = Table(
    name="rate-limits",
    purpose="Per-user and per-address request counters of the rate-limited routes, one item per window.",
    partition_key=Key("pk"),
    ttl_attribute="expires_at",
)

TABLES = _gather("TABLES") + (RATE_LIMIT_TABLE,)
QUEUES = _gather("QUEUES")
FUNCTIONS = _gather("FUNCTIONS")
ALARMS = _gather("ALARMS")
STATE_MACHINES = _gather("STATE_MACHINES")
WEBSOCKET_APIS = _gather("WEBSOCKET_APIS")

API = Api(
    authorizer="identity-authorizer",
    throttle_rate_per_second=200,
    throttle_burst=500,
    gateway_max_body_bytes=10 * 1024 * 1024,
    gateway_responses=(
        GatewayResponse("MISSING_AUTHENTICATION_TOKEN", 404, "NOT_FOUND", "No route matches this method and path."),
        GatewayResponse("RESOURCE_NOT_FOUND", 404, "NOT_FOUND", "No route matches this method and path."),
        GatewayResponse("UNAUTHORIZED", 401, "UNAUTHORIZED", "A valid access token is required."),
        GatewayResponse("EXPIRED_TOKEN", 401, "UNAUTHORIZED", "The access token has expired."),
        GatewayResponse("ACCESS_DENIED", 403, "FORBIDDEN", "Your role may not call this route."),
        GatewayResponse("REQUEST_TOO_LARGE", 413, "PAYLOAD_TOO_LARGE", "The request body is too large."),
        GatewayResponse("THROTTLED", 429, "THROTTLED", "Too many requests; retry later.", retry_after_seconds=1),
        GatewayResponse("INTEGRATION_TIMEOUT", 504, "UPSTREAM_TIMEOUT", "The request took too long."),
        GatewayResponse("DEFAULT_4XX", 400, "BAD_REQUEST", "The request could not be accepted."),
        GatewayResponse("DEFAULT_5XX", 500, "INTERNAL_ERROR", "Something went wrong on our side."),
    ),
    # "/refund" also covers ".../refunds" (an order's refund requests, the admin's refund queue).
    strict_rate_limit_paths=("/v1/auth/", "/v1/checkout", "/refund"),
)

# RazorpayX accepts API calls only from the IPs allowlisted on its dashboard: the functions that
# call it (their environment names RAZORPAYX_BASE_URL, see contexts/payouts.py) set fixed_egress
# and leave through this network's one NAT gateway, whose Elastic IP the stack outputs.
NETWORK = Network(
    name="bazaar-egress",
    cidr="10.40.0.0/16",
    availability_zones=2,
    flow_log_retention_days=30,
    allowlisted_settings=("RAZORPAYX_BASE_URL",),
)

# One flag document for the service (each context declares its FLAGS): AppConfig in the cloud, its
# twin locally. Functions cache it a minute, so a change reaches every warm function within one.
FEATURE_FLAGS = FeatureFlags(application="bazaar", profile="feature-flags", flags=_gather("FLAGS"),
                             max_age_seconds=60)

SERVICE = Service(
    name="bazaar",
    api=API,
    user_pool=UserPool(name="bazaar-users"),
    settings=SETTINGS,
    tables=TABLES,
    queues=QUEUES,
    secrets=SECRETS + _gather("SECRETS"),
    state_machines=STATE_MACHINES,
    websocket_apis=WEBSOCKET_APIS,
    functions=FUNCTIONS,
    alarms=ALARMS,
    network=NETWORK,
    stages=STAGES,
    feature_flags=FEATURE_FLAGS,
)

__all__ = ["API", "FUNCTIONS", "NETWORK", "SECRETS", "SERVICE", "SETTINGS", "TABLES", "VERSION"]
