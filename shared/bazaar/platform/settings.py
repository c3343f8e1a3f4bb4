"""Typed configuration, read once at cold start and validated there.

`Settings` holds what every function has (its name, its declared tables, queues and secrets, the
request limits); each context extends it with its own typed settings (bazaar.<context>.settings),
so a function states exactly what it needs and refuses to start without it. The environment is
read here and nowhere else.

A function refuses to start with a bad value, and the message names the setting, so a
misconfiguration shows up in the first log line of a deploy rather than in a customer's order.
The variable names are the contract written by infra/description (both twins set them)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the function must not start."""


class UndeclaredResourceError(ConfigurationError):
    """Code asked for a table, queue, secret, state machine or WebSocket API its function does not declare in
    the description."""


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


S = TypeVar("S", bound="Settings")


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
