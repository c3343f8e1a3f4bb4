"""Secrets from Secrets Manager, typed and validated when first loaded, then cached for a few
minutes (so a rotation is picked up without a redeploy)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bazaar.platform.settings import ConfigurationError, Settings

T = TypeVar("T", bound=BaseModel)
CACHE_SECONDS = 300


def load_secret(settings: Settings, name: str, model: type[T]) -> T:
    # Imported on the first read, not with the module: most importers only build a loader at
    # cold start, and some paths never read a secret at all.
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(settings.secret_id(name), transform="json", max_age=CACHE_SECONDS)
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        # Name the fields, never their values.
        raise ConfigurationError(f"secret {name!r} is invalid: check {fields}") from None
