"""Feature flags: Powertools' feature flags over AWS AppConfig (the local twin serves the same
AppConfig Data API), read by the functions the description marks `reads_flags`.

Precedence, for every flag: the value the flag document gives (a rollout rule's for a user in
it, else the document's default); when the document cannot be read, or does not name the flag,
the default the calling code passes, which is the setting the flag replaces (PHONEPE_API_VERSION
for the PhonePe generation). A flag store outage therefore turns every flag to its setting, never
into an error. After a failed read the defaults are used for `max_age` seconds before asking
again, so an outage costs one slow call per function instance per period, not one per request.

Powertools is imported on first use (not at cold start), and its store caches the document for
`max_age` seconds, so a warm function asks AppConfig at most once a minute."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Protocol

from bazaar.platform.observability import logger

# The evaluation context key rollout rules read (infra/description/model.py ROLLOUT_CONTEXT_KEY;
# a unit test keeps the two equal).
ROLLOUT_CONTEXT_KEY = "rollout_number"

FlagValue = bool | int | str


def rollout_number(flag: str, user_id: str) -> int:
    """A stable number for this user and flag (the rule takes it modulo 100): the same user is in
    or out of a flag's rollout on every call and every function, and each flag draws its own
    share of users, so the first 10% of one flag are not the first 10% of every other."""
    digest = hashlib.sha256(f"{flag}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class FlagEngine(Protocol):
    """What Powertools' FeatureFlags offers that Bazaar uses."""

    def evaluate(self, *, name: str, context: dict[str, Any] | None = None, default: Any) -> Any: ...

    def get_configuration(self) -> dict: ...


class Flags:
    def __init__(self, engine: Callable[[], FlagEngine], max_age_seconds: int,
                 monotonic: Callable[[], float] = time.monotonic):
        self._make_engine, self._engine = engine, None
        self._max_age, self._monotonic = max_age_seconds, monotonic
        self._unreadable_until = 0.0

    def _flags(self) -> FlagEngine | None:
        if self._monotonic() < self._unreadable_until:
            return None
        if self._engine is None:
            self._engine = self._make_engine()  # type: ignore[assignment]
        return self._engine

    def document(self) -> dict[str, Any] | None:
        """The flag document as the store has it now (None when it cannot be read)."""
        engine = self._flags()
        if engine is None:
            return None
        try:
            return dict(engine.get_configuration())
        except Exception as error:  # noqa: BLE001 - any store failure means "use the defaults"
            self._unreadable(error)
            return None

    def value(self, name: str, default: FlagValue, user_id: str | None = None) -> FlagValue:
        """The flag's value (for this user, when given): see the module's precedence."""
        engine = self._flags()
        if engine is None:
            return default
        context = {ROLLOUT_CONTEXT_KEY: rollout_number(name, user_id)} if user_id else {}
        try:
            # Powertools answers `default` itself when the store fails or lacks the flag; a
            # document that fails its schema raises, and is treated the same.
            document = engine.get_configuration()
            if name not in document:
                return default
            return engine.evaluate(name=name, context=context, default=default)
        except Exception as error:  # noqa: BLE001 - any store failure means "use the defaults"
            self._unreadable(error)
            return default

    def _unreadable(self, error: Exception) -> None:
        self._unreadable_until = self._monotonic() + self._max_age
        logger.warning("feature flags unreadable; using defaults", extra={"problem": type(error).__name__})


class NoFlags(Flags):
    """For a function that reads no flags: every flag is its default."""

    def __init__(self) -> None:
        super().__init__(engine=lambda: None, max_age_seconds=60)  # type: ignore[arg-type,return-value]

    def _flags(self) -> FlagEngine | None:
        return None


def appconfig_flags(application: str, environment: str, profile: str, max_age_seconds: int) -> Flags:
    def engine() -> FlagEngine:
        from aws_lambda_powertools.utilities.feature_flags import AppConfigStore, FeatureFlags

        from bazaar.platform import aws

        # Short timeouts and one try: a slow store must not hold a request; its defaults answer.
        store = AppConfigStore(environment=environment, application=application, name=profile,
                               max_age=max_age_seconds, boto3_client=aws.client("appconfigdata", aws.PROBE))
        return FeatureFlags(store=store)

    return Flags(engine, max_age_seconds)
