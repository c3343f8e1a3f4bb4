"""Typed configuration, read once at cold start and validated there.

A function refuses to start with a bad value, and the message names the setting, so a
misconfiguration shows up in the first log line of a deploy rather than in a customer's order.
The variable names are the contract written by infra/description (both twins set them)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the function must not start."""


class UndeclaredResourceError(ConfigurationError):
    """Code asked for a table, queue or secret its function does not declare in the description."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    service: str = Field(alias="BAZAAR_SERVICE", min_length=1)
    function: str = Field(alias="BAZAAR_FUNCTION", min_length=1)
    version: str = Field(alias="BAZAAR_VERSION", min_length=1)
    stage: str = Field(alias="BAZAAR_STAGE", default="local", min_length=1)
    log_level: str = Field(alias="LOG_LEVEL", default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    max_request_body_bytes: int = Field(alias="MAX_REQUEST_BODY_BYTES", ge=1024, le=6 * 1024 * 1024)
    stock_lock_expiry_minutes: int = Field(alias="STOCK_LOCK_EXPIRY_MINUTES", ge=1, le=120)
    stock_cleanup_interval_minutes: int = Field(alias="STOCK_CLEANUP_INTERVAL_MINUTES", ge=1, le=60)
    max_locked_units_per_customer: int = Field(alias="MAX_LOCKED_UNITS_PER_CUSTOMER", default=20, ge=1, le=10000)
    # Benchmarks only: count AWS round trips per invocation and report them in a response header.
    count_aws_calls: bool = Field(alias="BAZAAR_COUNT_AWS_CALLS", default=False)
    heartbeat_interval_minutes: int = Field(alias="HEARTBEAT_INTERVAL_MINUTES", ge=1, le=60)
    order_history_retention_days: int = Field(alias="ORDER_HISTORY_RETENTION_DAYS", ge=1, le=3650)
    platform_fee_bps: int = Field(alias="PLATFORM_FEE_BPS", ge=0, le=5000)

    tables: Mapping[str, str] = Field(default_factory=dict)
    queues: Mapping[str, str] = Field(default_factory=dict)
    secrets: Mapping[str, str] = Field(default_factory=dict)
    route_roles: Mapping[str, frozenset[str]] = Field(alias="BAZAAR_ROUTE_ROLES", default_factory=dict)
    # The event dispatcher's routes: queue name -> the event types it takes.
    event_routes: Mapping[str, tuple[str, ...]] = Field(alias="BAZAAR_EVENT_ROUTES", default_factory=dict)
    user_pool_id: str | None = Field(alias="BAZAAR_USER_POOL_ID", default=None)
    user_pool_client_id: str | None = Field(alias="BAZAAR_USER_POOL_CLIENT_ID", default=None)
    user_pool_jwks_url: str | None = Field(alias="BAZAAR_USER_POOL_JWKS_URL", default=None)
    # Set only for functions that call Shiprocket (infra/description/contexts/shipping.py).
    shiprocket_base_url: str | None = Field(alias="SHIPROCKET_BASE_URL", default=None, pattern="^https?://")
    # The shipments worker: the queue's max receive count (from the description), so its last
    # attempt marks the order SHIPMENT_FAILED before the message goes to the DLQ; and the shop's
    # email Shiprocket requires on every order.
    shipments_max_receive_count: int | None = Field(alias="SHIPMENTS_MAX_RECEIVE_COUNT", default=None, ge=1)
    shipping_contact_email: str | None = Field(alias="SHIPPING_CONTACT_EMAIL", default=None, min_length=3)

    @field_validator("route_roles", "event_routes", mode="before")
    @classmethod
    def _parse_route_roles(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    def table(self, name: str) -> str:
        return self._resource("table", self.tables, name)

    def queue_url(self, name: str) -> str:
        return self._resource("queue", self.queues, name)

    def secret_id(self, name: str) -> str:
        return self._resource("secret", self.secrets, name)

    def _resource(self, kind: str, declared: Mapping[str, str], name: str) -> str:
        try:
            return declared[name]
        except KeyError:
            raise UndeclaredResourceError(
                f"function {self.function!r} uses {kind} {name!r} but does not declare it in "
                "infra/description; declare it there (that also grants the IAM access)"
            ) from None


def _resources(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {
        key[len(prefix) :].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith(prefix)
    }


def load_settings(environ: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(
            {
                **environ,
                "tables": _resources(environ, "BAZAAR_TABLE_"),
                "queues": _resources(environ, "BAZAAR_QUEUE_"),
                "secrets": _resources(environ, "BAZAAR_SECRET_"),
            }
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None
    except json.JSONDecodeError:
        raise ConfigurationError("invalid configuration: BAZAAR_ROUTE_ROLES or BAZAAR_EVENT_ROUTES: "
                                 "not valid JSON") from None
