"""Probes and the job-run store on AWS services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bazaar.ops.domain import DependencyKind, JobRun
from bazaar.platform import aws
from bazaar.platform.dynamo import query_page, to_item, to_value

JOB_RUN_RETENTION = timedelta(days=30)


class DynamoDbProbe:
    def __init__(self, client, table_name: str):
        self.name = "dynamodb"
        self.kind: DependencyKind = "core"
        self._client = client
        self._table_name = table_name

    def check(self) -> None:
        # A real read, as a request would do it: proves the table exists and we may read it.
        self._client.get_item(
            TableName=self._table_name, Key={"pk": {"S": "health"}, "sk": {"S": "probe"}}
        )


class SecretsManagerProbe:
    def __init__(self, client, secret_id: str):
        self.name = "secretsmanager"
        self.kind: DependencyKind = "core"
        self._client = client
        self._secret_id = secret_id

    def check(self) -> None:
        # Describe, not get: a health check has no business holding secret material.
        self._client.describe_secret(SecretId=self._secret_id)


class DynamoDbJobRuns:
    """One item per run: `JOB#<job>` / `RUN#<started at>`, the summary as JSON text, kept for
    JOB_RUN_RETENTION (the `expires_at` TTL, epoch seconds)."""

    def __init__(self, table_name: str, *, client: Any = None):
        self._client = client or aws.client("dynamodb")
        self._table = table_name

    def record(self, run: JobRun) -> None:
        started = run.started_at.astimezone(UTC).isoformat(timespec="milliseconds")
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"JOB#{run.job}",
            "sk": f"RUN#{started}",
            "job": run.job,
            "started_at": started,
            "duration_ms": run.duration_ms,
            "succeeded": run.succeeded,
            "summary": json.dumps(run.summary),
            "error": run.error,
            "expires_at": int((run.started_at + JOB_RUN_RETENTION).timestamp()),
        }))

    def latest(self, job: str, limit: int) -> list[JobRun]:
        records, _ = query_page(
            self._client, key_attributes=("pk", "sk"), limit=limit, start=None, TableName=self._table,
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": to_value(f"JOB#{job}")},
            ScanIndexForward=False,
        )
        return [
            JobRun(
                job=r["job"],
                started_at=datetime.fromisoformat(r["started_at"]),
                duration_ms=int(r["duration_ms"]),
                succeeded=bool(r["succeeded"]),
                summary=json.loads(r["summary"], strict=False) or {},
                error=r.get("error"),
            )
            for r in records
        ]
