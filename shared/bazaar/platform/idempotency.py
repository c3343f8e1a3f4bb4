"""Idempotency-Key handling for POSTs that create something (API.md): the same key with the same
body answers the first response again; another body is 422; a concurrent request with the key
is 409. Powertools idempotency on the `idempotency` table does the bookkeeping.

The record is keyed on (operation, caller, Idempotency-Key), so two customers can never collide
on a key, and it keeps a hash of the normalised request body for the "same body" check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from bazaar.platform.errors import BazaarError, DependencyUnavailable

KEEP_AT_LEAST = timedelta(hours=25)  # API.md promises 24 h; an hour of margin for clock skew
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # printable ASCII, 1-255 characters


class IdempotentRequests:
    def __init__(self, operation: str, table_name: str, client, keep: timedelta = KEEP_AT_LEAST):
        self._operation = operation
        # One persistence layer per config: a shared one keeps the first config it saw and
        # silently skips idempotency for the others (docs/local-twin.md, 'DynamoDB').
        self._config = IdempotencyConfig(
            event_key_jmespath="[operation, caller, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=int(keep.total_seconds()),
        )
        persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)

        @idempotent_function(data_keyword_argument="request", config=self._config, persistence_store=persistence)
        def once(*, request: dict, perform: Callable[[], dict]) -> dict:
            return perform()

        self._once = once

    def register_lambda_context(self, context: LambdaContext) -> None:
        # Lets a request that dies mid-way (timeout) release its key when the Lambda would have.
        self._config.register_lambda_context(context)

    def run(self, *, caller: str, key: str, body: dict[str, Any], perform: Callable[[], dict]) -> dict:
        request = {"operation": self._operation, "caller": caller, "key": key, "body": body}
        try:
            return self._once(request=request, perform=perform)
        except IdempotencyAlreadyInProgressError:
            raise BazaarError("A request with this Idempotency-Key is still in progress.",
                              code="IDEMPOTENCY_KEY_IN_USE") from None
        except IdempotencyValidationError:
            raise BazaarError("This Idempotency-Key was used with a different request body.",
                              code="IDEMPOTENCY_KEY_REUSED") from None
        except IdempotencyPersistenceLayerError:
            raise DependencyUnavailable("Could not check the Idempotency-Key; retry with the same key.") from None
