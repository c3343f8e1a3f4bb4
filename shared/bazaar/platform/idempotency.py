"""Idempotency-Key handling for POSTs that create something (docs/api-conventions.md): the same key with the same
body answers the first response again; another body is 422; a concurrent request with the key
is 409. Two ways, on the one `idempotency` table (key `id`, TTL attribute `expiration`):

- IdempotentRequests: Powertools idempotency does the bookkeeping around a function (an
  in-progress record before it, the response after it). Two writes of its own.
- IdempotencyKeys: the request's own record, claimed by a Put (a `KeyClaim`) that the caller
  places in the very TransactWriteItems that does the request's work, so the claim and the work
  commit or vanish together; then one write stores the response. Checkout uses it: a refused
  transaction (out of stock) leaves no record, and the claim costs no round trip of its own.

Records are keyed on (operation, caller, Idempotency-Key), so two customers can never collide
on a key, and keep a hash of the normalised request body for the "same body" check."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bazaar.platform.dynamo import error_code, to_item, to_value
from pydantic import BaseModel

from bazaar.platform.errors import BazaarError, DependencyUnavailable
from bazaar.platform.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

KEEP_AT_LEAST = timedelta(hours=25)  # clients are promised 24 h; an hour of margin for clock skew
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # printable ASCII, 1-255 characters


class IdempotentRequests:
    def __init__(self, operation: str, table_name: str, client, keep: timedelta = KEEP_AT_LEAST):
        # Powertools idempotency is imported by the functions that build one of these, not by
        # every importer of this module (checkout's IdempotencyKeys needs none of it).
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

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

    def respond(self, *, status: int, caller: str, key: str, body: dict[str, Any],
                perform: Callable[[], BaseModel]) -> Response:
        """A creating POST's answer: `perform` runs once per key and its answer is stored as JSON;
        a repeat of the key gets the same answer, already serialised."""
        from aws_lambda_powertools.event_handler import Response, content_types

        answer = self.run(caller=caller, key=key, body=body, perform=lambda: perform().model_dump(mode="json"))
        return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=answer)

    def run(self, *, caller: str, key: str, body: dict[str, Any], perform: Callable[[], dict]) -> dict:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        request = {"operation": self._operation, "caller": caller, "key": key, "body": body}
        try:
            return self._once(request=request, perform=perform)
        except IdempotencyAlreadyInProgressError:
            raise _in_use() from None
        except IdempotencyValidationError:
            raise _reused() from None
        except IdempotencyPersistenceLayerError:
            raise DependencyUnavailable("Could not check the Idempotency-Key; retry with the same key.") from None


def _in_use() -> BazaarError:
    return BazaarError("A request with this Idempotency-Key is still in progress.", code="IDEMPOTENCY_KEY_IN_USE")


def _reused() -> BazaarError:
    return BazaarError("This Idempotency-Key was used with a different request body.", code="IDEMPOTENCY_KEY_REUSED")


IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


class KeyTaken(Exception):
    """The claim's condition failed: the key already has a record (`existing`, as stored; None
    if DynamoDB did not hand it back). IdempotencyKeys.answer says what that means."""

    def __init__(self, existing: dict[str, Any] | None):
        super().__init__("the Idempotency-Key already has a record")
        self.existing = existing


@dataclass(frozen=True)
class KeyClaim:
    """One request's hold on its Idempotency-Key: a Put for the caller's own transaction. It
    succeeds if the key has no record, or only an expired one, or an in-progress one whose
    request has outlived its function's timeout (it died mid-way: taking it over is safe)."""

    table: str
    record_id: str
    body_hash: str
    token: str  # this attempt's own id: only its holder completes or releases the record
    now_ms: int
    in_progress_until_ms: int
    expiration: int  # epoch seconds (the table's TTL attribute)

    def transact_item(self) -> dict:
        return {"Put": {
            "TableName": self.table,
            "Item": to_item({"id": self.record_id, "status": IN_PROGRESS, "body_hash": self.body_hash,
                             "token": self.token, "in_progress_until": self.in_progress_until_ms,
                             "expiration": self.expiration}),
            "ConditionExpression": "attribute_not_exists(id) OR #expiration < :now_s"
                                   " OR (#status = :in_progress AND in_progress_until < :now_ms)",
            "ExpressionAttributeNames": {"#status": "status", "#expiration": "expiration"},
            "ExpressionAttributeValues": {":now_s": to_value(self.now_ms // 1000), ":now_ms": to_value(self.now_ms),
                                          ":in_progress": to_value(IN_PROGRESS)},
            # The record that stood in the way comes back with the cancellation: no second read.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}

    def taken(self, existing: dict[str, Any] | None) -> KeyTaken:
        """What to raise when this claim's condition failed (`existing`: the record that stood in
        the way, as the cancellation returned it: `TransactionCancelled.item`)."""
        return KeyTaken(existing)


def _body_hash(body: dict[str, Any]) -> str:
    normalised = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(normalised.encode()).hexdigest()


class IdempotencyKeys:
    """Idempotency-Keys whose record is claimed inside the request's own transaction (see the
    module's docstring). `claim` builds the Put; after the transaction, exactly one of `answer`
    (it was cancelled by the claim: KeyTaken), `complete` (the request succeeded) or `release`
    (it failed for good after its transaction committed, so a retry may start again)."""

    def __init__(self, operation: str, table_name: str, client, keep: timedelta = KEEP_AT_LEAST,
                 in_progress_for: timedelta = timedelta(seconds=30)):
        self._operation, self._table, self._client = operation, table_name, client
        self._keep, self._in_progress_for = keep, in_progress_for
        self._context: LambdaContext | None = None

    def register_lambda_context(self, context: LambdaContext) -> None:
        # An in-progress record is held as long as this invocation can run, no longer.
        self._context = context

    def claim(self, *, caller: str, key: str, body: dict[str, Any], now: datetime) -> KeyClaim:
        now_ms = int(now.timestamp() * 1000)
        remaining_ms = self._context.get_remaining_time_in_millis() if self._context is not None else None
        held_ms = remaining_ms if remaining_ms else int(self._in_progress_for.total_seconds() * 1000)
        digest = hashlib.sha256(key.encode()).hexdigest()
        return KeyClaim(
            table=self._table, record_id=f"{self._operation}#{caller}#{digest}", body_hash=_body_hash(body),
            token=uuid.uuid4().hex, now_ms=now_ms, in_progress_until_ms=now_ms + held_ms,
            expiration=int(now.timestamp() + self._keep.total_seconds()),
        )

    def answer(self, claim: KeyClaim, taken: KeyTaken) -> dict[str, Any]:
        """The first response for a key that has one; raises IDEMPOTENCY_KEY_REUSED (422) for
        another body, IDEMPOTENCY_KEY_IN_USE (409) while the first request is still running."""
        existing = taken.existing
        if existing is None:
            raise _in_use()  # gone again already (released): the shopper's retry will tell
        if existing.get("body_hash") != claim.body_hash:
            raise _reused()
        if existing.get("status") == COMPLETED and existing.get("response"):
            return json.loads(existing["response"])
        raise _in_use()

    def complete(self, claim: KeyClaim, response: dict[str, Any]) -> None:
        """Stores the response for the key (one write). The work is done either way, so a
        failure here is logged, not raised: the shopper still gets the answer."""
        try:
            self._client.update_item(
                TableName=self._table, Key={"id": to_value(claim.record_id)},
                UpdateExpression="SET #status = :done, #response = :response, #expiration = :expiration"
                                 " REMOVE in_progress_until",
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#status": "status", "#response": "response",
                                          "#expiration": "expiration", "#token": "token"},
                ExpressionAttributeValues={
                    ":done": to_value(COMPLETED), ":token": to_value(claim.token),
                    ":response": to_value(json.dumps(response, separators=(",", ":"))),
                    ":expiration": to_value(int(time.time() + self._keep.total_seconds())),
                },
            )
        except Exception as error:  # noqa: BLE001 - the order exists and its payment is open: answer anyway
            # ConditionalCheckFailed: this request outlived its hold and another took the key over.
            logger.warning("could not store the response for an Idempotency-Key",
                           extra={"operation": self._operation, "error": _why(error)})

    def release(self, claim: KeyClaim) -> None:
        """Deletes the key's record if it is still this request's, so a retry starts afresh. If
        that fails, the record is taken over once its hold runs out."""
        try:
            self._client.delete_item(
                TableName=self._table, Key={"id": to_value(claim.record_id)},
                ConditionExpression="#token = :token", ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": to_value(claim.token)},
            )
        except Exception as error:  # noqa: BLE001 - the hold runs out on its own; the failure being answered matters more
            logger.warning("could not release an Idempotency-Key",
                           extra={"operation": self._operation, "error": _why(error)})


def _why(error: Exception) -> str:
    return error_code(error) if isinstance(error, ClientError) else type(error).__name__
