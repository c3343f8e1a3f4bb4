"""boto3 clients with timeouts a request path can afford, and the one test of whether a failure
is AWS being busy or briefly down. Endpoints come from the standard AWS_ENDPOINT_URL* variables,
which is how the local twin points everything at moto."""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

# Request paths: fail fast, retry the throttles and 5xx that DynamoDB and friends ask us to.
REQUEST_PATH = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
# Health probes: one short try; a slow dependency is a down dependency for a health check.
PROBE = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 1})


def client(service: str, config: Config = REQUEST_PATH, count_round_trips: bool = False):
    made = boto3.client(service, config=config)
    return round_trips.watch(made) if count_round_trips else made


class RoundTrips:
    """Counts the HTTP requests (retries included) a function's clients send, per invocation.
    Only benchmarks turn it on (BAZAAR_COUNT_AWS_CALLS); HttpApi then reports the count in the
    `X-Bazaar-Aws-Calls` response header."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def watch(self, aws_client):
        service = aws_client.meta.service_model.service_name
        aws_client.meta.events.register(f"before-send.{aws_client.meta.service_model.service_id.hyphenize()}",
                                        lambda **_: self._count(service))
        return aws_client

    def _count(self, service: str) -> None:
        self.counts[service] = self.counts.get(service, 0) + 1

    def reset(self) -> None:
        self.counts = {}

    def header(self) -> str:
        return ",".join(f"{service}={n}" for service, n in sorted(self.counts.items())) or "none=0"


round_trips = RoundTrips()


# What a client is told to wait before retrying a request AWS was too busy or unavailable for:
# the SDK's own retries (above) already spent about a second.
RETRY_AFTER_SECONDS = 2
# The error codes AWS services answer when they throttle (what botocore's standard retry mode
# treats as throttling), and the reason DynamoDB gives a transaction it cancelled for that.
_THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "RequestThrottled", "LimitExceededException", "TransactionInProgressException", "SlowDown",
})
_THROTTLED_TRANSACTION = "ThrottlingError"


def aws_unavailable(error: BaseException) -> bool:
    """True when `error`, or what it was raised from (powertools parameters and idempotency
    wrap botocore's errors), is an AWS service throttling, answering 5xx or not
    answering at all, after the SDK's retries: nothing the request did wrong, so the caller is
    told to retry rather than shown an internal error."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, HTTPClientError | EndpointUnreachable):  # refused, reset, timed out
            return True
        if isinstance(current, ClientError) and _busy(current):
            return True
        pending += [current.__cause__, current.__context__]
    return False


def _busy(error: ClientError) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    reasons = {str(r.get("Code")) for r in error.response.get("CancellationReasons") or [] if isinstance(r, dict)}
    return code in _THROTTLING_CODES or status >= 500 or _THROTTLED_TRANSACTION in reasons
