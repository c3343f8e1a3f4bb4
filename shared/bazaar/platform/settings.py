"""Typed configuration, read once at cold start and validated there.

`Settings` holds what every function has (its name, its declared tables, queues and secrets, the
request limits); each context extends it with its own typed settings (bazaar.<context>.settings),
so a function states exactly what it needs and refuses to start without it. The environment is
read here and nowhere else.

A function refuses to start with a bad value, and the message names the setting, so a
misconfiguration shows up in the first log line of a deploy rather than in a customer's order.
The variable names are the contract written by infra/description (both twins set them)."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the function must not start."""


class UndeclaredResourceError(ConfigurationError):
    """Code asked for a table, queue, secret, state machine or WebSocket API its function does not declare in
    the description."""


class RateLimit(BaseModel):
    """One limited route's numbers (bazaar.platform.ratelimit): at most `per_user` requests of one
    caller and `per_ip` from one address in each fixed window of `window_seconds`; 0 turns that
    check off. Written in a setting as `per_user=10,per_ip=100,window_seconds=300`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_user: int = Field(ge=0)
    per_ip: int = Field(ge=0)
    window_seconds: int = Field(ge=1, le=24 * 3600)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        fields: dict[str, str] = {}
        for part in text.split(","):
            name, equals, value = part.strip().partition("=")
            if not equals:
                raise ValueError(f"{text!r} is not per_user=N,per_ip=N,window_seconds=N")
            fields[name.strip()] = value.strip()
        return cls.model_validate(fields)

    def describe(self) -> str:
        return f"per_user={self.per_user},per_ip={self.per_ip},window_seconds={self.window_seconds}"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    service: str = Field(alias="BAZAAR_SERVICE", min_length=1)
    function: str = Field(alias="BAZAAR_FUNCTION", min_length=1)
    version: str = Field(alias="BAZAAR_VERSION", min_length=1)
    stage: str = Field(alias="BAZAAR_STAGE", default="local", min_length=1)
    log_level: str = Field(alias="LOG_LEVEL", default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    max_request_body_bytes: int = Field(alias="MAX_REQUEST_BODY_BYTES", ge=1024, le=6 * 1024 * 1024)
    # Benchmarks only: count AWS round trips per invocation and report them in a response header.
    count_aws_calls: bool = Field(alias="BAZAAR_COUNT_AWS_CALLS", default=False)
    tables: Mapping[str, str] = Field(default_factory=dict)
    queues: Mapping[str, str] = Field(default_factory=dict)
    secrets: Mapping[str, str] = Field(default_factory=dict)
    # State machine ARNs by description name (BAZAAR_STATE_MACHINE_<NAME>).
    state_machines: Mapping[str, str] = Field(default_factory=dict)
    # WebSocket management endpoints by API name (BAZAAR_WEBSOCKET_<NAME>_ENDPOINT), for the
    # apigatewaymanagementapi client's endpoint_url.
    websocket_endpoints: Mapping[str, str] = Field(default_factory=dict)
    route_roles: Mapping[str, frozenset[str]] = Field(alias="BAZAAR_ROUTE_ROLES", default_factory=dict)
    # Where the feature flag document is (a function the description marks reads_flags; none else).
    flags_application: str | None = Field(alias="BAZAAR_FLAGS_APPLICATION", default=None, min_length=1)
    flags_environment: str | None = Field(alias="BAZAAR_FLAGS_ENVIRONMENT", default=None, min_length=1)
    flags_profile: str | None = Field(alias="BAZAAR_FLAGS_PROFILE", default=None, min_length=1)
    flags_max_age_seconds: int = Field(alias="BAZAAR_FLAGS_MAX_AGE_SECONDS", default=60, ge=5, le=3600)

    # Browser origins the stage allows (CORS), exactly as `scheme://host[:port]`; comma-separated.
    cors_allowed_origins: frozenset[str] = Field(alias="CORS_ALLOWED_ORIGINS", default_factory=frozenset)
    # Per-client limits of the sensitive routes, by setting name (RATE_LIMIT_<ROUTE>): the table
    # of which route uses which is bazaar.platform.ratelimit.LIMITED_ROUTES.
    rate_limits: Mapping[str, RateLimit] = Field(default_factory=dict)
    # Where each provider's webhook may come from (<PROVIDER>_WEBHOOK_SOURCE_IPS, CIDRs,
    # comma-separated), by provider; an empty list lets any address through to the signature check.
    webhook_source_ips: Mapping[str, tuple[IpNetwork, ...]] = Field(default_factory=dict)

    @field_validator("route_roles", mode="before")
    @classmethod
    def _parse_route_roles(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    def flags(self):
        """The feature flags this function evaluates (bazaar.platform.flags); every flag its
        default for a function that reads none."""
        from bazaar.platform.flags import NoFlags, appconfig_flags

        if not (self.flags_application and self.flags_environment and self.flags_profile):
            return NoFlags()
        return appconfig_flags(self.flags_application, self.flags_environment, self.flags_profile,
                               self.flags_max_age_seconds)

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return frozenset(o.strip() for o in value.split(",") if o.strip()) if isinstance(value, str) else value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        parsed = {}
        for name, text in value.items():
            try:
                parsed[name] = RateLimit.parse(text) if isinstance(text, str) else text
            except ValueError as error:  # pydantic's ValidationError is one too
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()) \
                    if isinstance(error, ValidationError) else str(error)
                raise ValueError(f"{name}={text!r}: {problems}") from None
        return parsed

    @field_validator("webhook_source_ips", mode="before")
    @classmethod
    def _parse_source_ips(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        parsed = {}
        for provider, text in value.items():
            try:
                parsed[provider] = tuple(ipaddress.ip_network(c.strip(), strict=True)
                                         for c in text.split(",") if c.strip()) if isinstance(text, str) else text
            except ValueError as error:  # host bits set, or not an address at all
                raise ValueError(f"{provider.upper()}{WEBHOOK_SOURCE_IPS_SUFFIX}={text!r}: {error}") from None
        return parsed

    def table(self, name: str) -> str:
        return self._resource("table", self.tables, name)

    def queue_url(self, name: str) -> str:
        return self._resource("queue", self.queues, name)

    def secret_id(self, name: str) -> str:
        return self._resource("secret", self.secrets, name)

    def state_machine_arn(self, name: str) -> str:
        return self._resource("state machine", self.state_machines, name)

    def websocket_endpoint(self, name: str) -> str:
        return self._resource("WebSocket API", self.websocket_endpoints, name)

    def _resource(self, kind: str, declared: Mapping[str, str], name: str) -> str:
        try:
            return declared[name]
        except KeyError:
            raise UndeclaredResourceError(
                f"function {self.function!r} uses {kind} {name!r} but does not declare it in "
                "infra/description; declare it there (that also grants the IAM access)"
            ) from None


def _resources(environ: Mapping[str, str], prefix: str, suffix: str = "") -> dict[str, str]:
    return {
        key[len(prefix) : len(key) - len(suffix)].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith(prefix) and key.endswith(suffix) and len(key) > len(prefix) + len(suffix)
    }


RATE_LIMIT_PREFIX = "RATE_LIMIT_"
WEBHOOK_SOURCE_IPS_SUFFIX = "_WEBHOOK_SOURCE_IPS"

S = TypeVar("S", bound="Settings")


# Where the local twin keeps its armed crash points (bazaar.platform.faults); the cloud twin never
# sets it, so there every crash point is a no-op.
CRASH_POINTS_DIR = "BAZAAR_CRASH_POINTS_DIR"


def crash_points_scope(environ: Mapping[str, str] = os.environ) -> tuple[str | None, str]:
    """(the directory of armed crash points, or None where none can be armed; this function's
    name). Read apart from Settings: crash points sit in use cases that are handed no settings."""
    return environ.get(CRASH_POINTS_DIR) or None, environ.get("AWS_LAMBDA_FUNCTION_NAME", "")


def from_environment(kind: type[S]) -> S:
    """The function's settings of this kind, from its environment (what every entry point calls
    once, at cold start)."""
    return load_settings(os.environ, kind)


def load_settings(environ: Mapping[str, str], kind: type[S] = Settings) -> S:  # type: ignore[assignment]
    try:
        return kind.model_validate(
            {
                **environ,
                "tables": _resources(environ, "BAZAAR_TABLE_"),
                "queues": _resources(environ, "BAZAAR_QUEUE_"),
                "secrets": _resources(environ, "BAZAAR_SECRET_"),
                "state_machines": _resources(environ, "BAZAAR_STATE_MACHINE_"),
                "websocket_endpoints": _resources(environ, "BAZAAR_WEBSOCKET_", "_ENDPOINT"),
                "rate_limits": {k: v for k, v in environ.items() if k.startswith(RATE_LIMIT_PREFIX)},
                "webhook_source_ips": _resources(environ, "", WEBHOOK_SOURCE_IPS_SUFFIX),
            }
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None
    except json.JSONDecodeError:
        raise ConfigurationError("invalid configuration: a JSON setting (BAZAAR_ROUTE_ROLES, "
                                 "BAZAAR_EVENT_ROUTES) is not valid JSON") from None
