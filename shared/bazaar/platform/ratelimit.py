"""Per-client rate limits on the routes where one client's volume is itself the harm: sign-up,
sign-in and its second factor, token refresh, checkout, refund requests and scout withdrawals.

`LIMITED_ROUTES` below is the one table of them. Each row names its route (as
BAZAAR_ROUTE_ROLES keys it), the setting holding its numbers (RATE_LIMIT_<NAME>, declared with
their per-stage values in infra/description/settings.py and stages.py, typed by
bazaar.platform.settings.RateLimit) and who counts as "one user" on it. HttpApi checks the row
of the route it is answering before the route runs, so handlers know nothing of limits, and
docs/rate-limits.md is generated from this table (python -m infra.rate_limit_docs).

How a request is counted: fixed windows of `window_seconds` aligned to the epoch; one DynamoDB
item per (route, address or user, window) whose counter is raised by one conditional atomic ADD
that fails once the counter has reached the limit. So a refused request costs one write and
raises nothing, concurrent requests can never together pass the limit, and the answer is 429
THROTTLED with `Retry-After` = the seconds left in the window. The address is checked first,
then the user; TTL removes old windows (housekeeping only: the window is part of the key).

When DynamoDB cannot be asked (an error or a timeout), the request is let through (fail open),
logged and counted in the `RateLimiterUnavailable` metric. These limits stop one client's
abuse; failing closed would turn a DynamoDB blip into an outage of sign-in and checkout for
everyone, and the routes behind them still have their own defences when it happens: the stage
throttle and WAF's per-IP rules at the edge, the failed-login counters, the per-customer stock
lock cap, Idempotency-Key on money-moving requests, and one open refund request per order.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from bazaar.platform.aws import PROBE, client
from bazaar.platform.observability import logger, metrics
from bazaar.platform.settings import ConfigurationError, RateLimit, Settings

# The table the counters live in (infra/description/bazaar.py declares it).
RATE_LIMIT_TABLE = "rate-limits"
# Old windows stay this long after they end before TTL may remove them.
_EXPIRY_SLACK_SECONDS = 60


class UserKey(StrEnum):
    """Who "one user" is on a route."""

    CALLER = "the signed-in caller"
    BODY_EMAIL = "the account named by the body's email"
    # A second factor's answer names no account, only the sign-in it completes.
    BODY_SESSION = "the sign-in named by the body's session"
    NONE = "nobody: the address only"


@dataclass(frozen=True)
class LimitedRoute:
    route: str  # "<METHOD> <path>", as the description declares it
    setting: str  # RATE_LIMIT_<NAME>: the numbers
    user_key: UserKey
    why: str  # what the limit protects, for docs/rate-limits.md


LIMITED_ROUTES: tuple[LimitedRoute, ...] = (
    LimitedRoute("POST /v1/auth/register", "RATE_LIMIT_REGISTER", UserKey.BODY_EMAIL,
                 "Account creation: sign-up floods from one address, and probing which emails have accounts."),
    LimitedRoute("POST /v1/auth/login", "RATE_LIMIT_LOGIN", UserKey.BODY_EMAIL,
                 "Password guessing against one account from many addresses, and credential stuffing from "
                 "one address; the failed-login counters (per account and address) apply as well."),
    LimitedRoute("POST /v1/auth/login/mfa", "RATE_LIMIT_LOGIN_MFA", UserKey.BODY_SESSION,
                 "Guessing the six-digit code of a sign-in's second factor (a new sign-in, for a new "
                 "session, counts against the sign-in limit)."),
    LimitedRoute("POST /v1/auth/refresh", "RATE_LIMIT_REFRESH", UserKey.NONE,
                 "Trying stolen or guessed refresh tokens; the caller is not signed in, so by address only."),
    LimitedRoute("POST /v1/checkout", "RATE_LIMIT_CHECKOUT", UserKey.CALLER,
                 "Each checkout locks stock for its expiry time and opens a PhonePe payment: one client "
                 "must not hold a catalogue's stock or flood PhonePe."),
    LimitedRoute("POST /v1/orders/{order_id}/refunds", "RATE_LIMIT_REFUND_REQUEST", UserKey.CALLER,
                 "A shopper's refund requests reach an admin or PhonePe."),
    LimitedRoute("POST /v1/admin/orders/{order_id}/refund", "RATE_LIMIT_ADMIN_REFUND", UserKey.CALLER,
                 "Refunds an admin starts move money at once: a stolen admin session must not drain it."),
    LimitedRoute("POST /v1/scouts/me/payouts", "RATE_LIMIT_SCOUT_PAYOUT", UserKey.CALLER,
                 "A scout's withdrawals call RazorpayX and move money."),
)


@dataclass(frozen=True)
class Client:
    """Who sent the request, as far as the limits care."""

    ip: str | None
    user_id: str | None  # the signed-in caller (the authorizer's user id), if any
    body: str | None  # the request body as text, for routes whose user is named in it

    def user(self, key: UserKey) -> str | None:
        if key is UserKey.CALLER:
            return self.user_id
        field = {UserKey.BODY_EMAIL: "email", UserKey.BODY_SESSION: "session"}.get(key)
        value = _body_field(self.body, field) if field else None
        if value is None:
            return None
        # Hashed: the counters' keys must be neither a list of the emails people tried nor
        # usable sessions. Emails compare as Cognito compares them (case-insensitively).
        subject = value.strip().lower() if key is UserKey.BODY_EMAIL else value
        return f"{field}:" + hashlib.sha256(subject.encode()).hexdigest()[:32]


class Counters(Protocol):
    def hit(self, key: str, limit: int, expires_at: int) -> bool:
        """Counts one request under `key` unless `limit` were already counted: True if it was."""
        ...


class RateLimiter:
    def __init__(self, limits: Mapping[str, tuple[LimitedRoute, RateLimit]], counters: Counters,
                 clock: Callable[[], float] = time.time):
        self.limits = dict(limits)
        self.counters = counters
        self.clock = clock

    @classmethod
    def for_function(cls, settings: Settings) -> RateLimiter | None:
        """The limiter of the function these settings describe: None when it serves no limited
        route; ConfigurationError (at cold start) when a limited route it serves has no numbers."""
        rows = [row for row in LIMITED_ROUTES if row.route in settings.route_roles]
        if not rows:
            return None
        missing = sorted(row.setting for row in rows if row.setting not in settings.rate_limits)
        if missing:
            raise ConfigurationError(f"invalid configuration: {', '.join(missing)} not set (the limits of "
                                     f"routes function {settings.function!r} serves)")
        counters = DynamoDbCounters(client("dynamodb", PROBE, settings.count_aws_calls),
                                    settings.table(RATE_LIMIT_TABLE))
        return cls({row.route: (row, settings.rate_limits[row.setting]) for row in rows}, counters)

    def retry_after(self, route: str, sender: Client) -> int | None:
        """None to let the request through; else the seconds until the window that refused it ends."""
        found = self.limits.get(route)
        if found is None:
            return None
        row, limit = found
        now = self.clock()
        window = int(now // limit.window_seconds)
        window_end = (window + 1) * limit.window_seconds
        user = sender.user(row.user_key)
        for dimension, subject, most in (("ip", sender.ip, limit.per_ip), ("user", user, limit.per_user)):
            if not most or not subject:
                continue
            key = f"{row.setting}#{dimension}#{subject}#{window}"
            try:
                admitted = self.counters.hit(key, most, window_end + _EXPIRY_SLACK_SECONDS)
            except Exception:  # noqa: BLE001 - fail open, loudly: see the module's docstring
                logger.exception("rate limiter unavailable; request let through", extra={"route": route})
                metrics.add_metric(name="RateLimiterUnavailable", unit=MetricUnit.Count, value=1)
                return None
            if not admitted:
                logger.info("rate limited", extra={"route": route, "by": dimension, "limit": most,
                                                   "window_seconds": limit.window_seconds})
                metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
                return max(1, math.ceil(window_end - now))
        return None


class DynamoDbCounters:
    """One item per (route, subject, window): `hits` raised by a conditional atomic ADD."""

    def __init__(self, dynamodb, table: str):
        self.dynamodb = dynamodb
        self.table = table

    def hit(self, key: str, limit: int, expires_at: int) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression="ADD hits :one SET expires_at = :expires_at",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)},
                                           ":expires_at": {"N": str(expires_at)}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _body_field(body: str | None, name: str) -> str | None:
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    value = parsed.get(name) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) and value.strip() else None
