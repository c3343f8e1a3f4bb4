"""Probes and the job-run store on AWS services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from bazaar.ops.domain import JobRun

JOB_RUN_RETENTION = timedelta(days=30)


class DynamoDbProbe:
    def __init__(self, client, table_name: str):
        self.name = "dynamodb"
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
        self._client = client
        self._secret_id = secret_id

    def check(self) -> None:
        # Describe, not get: a health check has no business holding secret material.
        self._client.describe_secret(SecretId=self._secret_id)


def job_run_model(table_name: str) -> type[Model]:
    class JobRunRecord(Model):
        class Meta:
            pass

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        job = UnicodeAttribute()
        started_at = UnicodeAttribute()
        duration_ms = NumberAttribute()
        succeeded = BooleanAttribute()
        summary = JSONAttribute()
        error = UnicodeAttribute(null=True)
        expires_at = TTLAttribute()

    JobRunRecord.Meta.table_name = table_name
    return JobRunRecord


class DynamoDbJobRuns:
    def __init__(self, table_name: str):
        self._model = job_run_model(table_name)

    def record(self, run: JobRun) -> None:
        started = run.started_at.astimezone(UTC).isoformat(timespec="milliseconds")
        self._model(
            pk=f"JOB#{run.job}",
            sk=f"RUN#{started}",
            job=run.job,
            started_at=started,
            duration_ms=run.duration_ms,
            succeeded=run.succeeded,
            summary=run.summary,
            error=run.error,
            expires_at=run.started_at + JOB_RUN_RETENTION,
        ).save()

    def latest(self, job: str, limit: int) -> list[JobRun]:
        records = self._model.query(f"JOB#{job}", scan_index_forward=False, limit=limit)
        return [
            JobRun(
                job=r.job,
                started_at=datetime.fromisoformat(r.started_at),
                duration_ms=int(r.duration_ms),
                succeeded=r.succeeded,
                summary=r.summary or {},
                error=r.error,
            )
            for r in records
        ]
