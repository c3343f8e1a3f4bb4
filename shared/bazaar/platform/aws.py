"""boto3 clients with timeouts a request path can afford. Endpoints come from the standard
AWS_ENDPOINT_URL* variables, which is how the local twin points everything at moto."""

from __future__ import annotations

import boto3
from botocore.config import Config

# Request paths: fail fast, retry the throttles and 5xx that DynamoDB and friends ask us to.
REQUEST_PATH = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
# Health probes: one short try; a slow dependency is a down dependency for a health check.
PROBE = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 1})


def client(service: str, config: Config = REQUEST_PATH):
    return boto3.client(service, config=config)
