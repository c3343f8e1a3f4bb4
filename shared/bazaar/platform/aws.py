"""boto3 clients with timeouts a request path can afford. Endpoints come from the standard
AWS_ENDPOINT_URL* variables, which is how the local twin points everything at moto."""

from __future__ import annotations

import boto3
from botocore.config import Config

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
