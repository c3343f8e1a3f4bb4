"""moto's server embedded as the local AWS endpoint, and the resources of the description created
in it through the ordinary AWS APIs (moto's CloudFormation skips secrets, alarms and more, so the
template is not deployed into it: see docs/local-twin.md, 'CloudFormation: not used')."""

from __future__ import annotations

import json
import os
import secrets as random_secrets
import subprocess
import sys
import time
from typing import Any
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from infra.description.model import Service

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

class MotoServer:
    """moto's server as a child process (see moto_process.py) on 127.0.0.1. With
    `lambda_endpoint`, its Lambda invokes (a state machine's tasks) are forwarded there."""

    def __init__(self, port: int, lambda_endpoint: str | None = None):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.lambda_endpoint = lambda_endpoint
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        root = Path(__file__).resolve().parents[2]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.moto_process", "--port", str(self.port),
             *(["--lambda-endpoint", self.lambda_endpoint] if self.lambda_endpoint else [])],
            cwd=root,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "shared")])},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto exited with {self._process.returncode} (is port {self.port} free?)")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto did not answer on {self.endpoint} within {timeout} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50),
            **CREDENTIALS,
        )


@dataclass
class LocalNames:
    """The local twin's physical names (implements infra.description.model.PhysicalNames)."""

    service: str
    endpoint: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    pool_id: str = ""
    client_id: str = ""
    # The WebSocket twin's management endpoint per API (infra/local/websockets.py).
    websocket_endpoints: dict[str, str] = field(default_factory=dict)
    # (application id, environment, profile id) of the feature flags in moto (infra/local/flags.py).
    flags: tuple[str, str, str] | None = None

    def flags_identifiers(self) -> tuple[str, str, str]:
        assert self.flags is not None, "the description declares no feature flags"
        return self.flags

    def table_name(self, table: str) -> str:
        return f"{self.service}-{table}"

    def queue_name(self, queue: str) -> str:
        return f"{self.service}-{queue}"

    def queue_url(self, queue: str) -> str:
        return self.queue_urls[queue]

    def secret_id(self, secret: str) -> str:
        # The name, which (unlike moto's random ARN suffix) survives a delete and re-create.
        return f"{self.service}/{secret}"

    def user_pool_id(self) -> str:
        return self.pool_id

    def user_pool_client_id(self) -> str:
        return self.client_id

    def user_pool_jwks_url(self) -> str:
        # The real address (cognito-idp.<region>.amazonaws.com) is not reachable; moto serves the
        # same document at this path.
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"

    def alarm_name(self, alarm: str) -> str:
        return f"{self.service}-{alarm}"

    def state_machine_name(self, state_machine: str) -> str:
        return f"{self.service}-{state_machine}"

    def state_machine_arn(self, state_machine: str) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.state_machine_name(state_machine)}"

    def websocket_endpoint(self, websocket_api: str) -> str:
        return self.websocket_endpoints[websocket_api]


def provision(service: Service, moto: MotoServer) -> LocalNames:
    names = LocalNames(service=service.name, endpoint=moto.endpoint)
    _tables(service, moto, names)
    _queues(service, moto, names)
    _secrets(service, moto, names)
    _user_pool(service, moto, names)
    _alarms(service, moto, names)
    _email_identities(service, moto)
    return names


def _email_identities(service: Service, moto: MotoServer) -> None:
    """The senders functions mail from, verified (the cloud twin's identities are verified by a
    person clicking SES's link; moto refuses mail from an unverified sender, as SES does)."""
    ses = moto.client("ses")
    for address in service.email_identities:
        ses.verify_email_identity(EmailAddress=address)


def create_table(service: Service, moto: MotoServer, names: LocalNames, table_name: str) -> None:
    dynamodb = moto.client("dynamodb")
    table = service.table(table_name)
    keys = [table.partition_key, *([table.sort_key] if table.sort_key else [])]
    for index in table.indexes:
        keys += [index.partition_key, *([index.sort_key] if index.sort_key else [])]
    attributes = {k.name: k.type for k in keys}

    def schema(pk, sk):
        return [{"AttributeName": pk.name, "KeyType": "HASH"}] + (
            [{"AttributeName": sk.name, "KeyType": "RANGE"}] if sk else []
        )

    extra: dict[str, Any] = {}
    if table.indexes:
        extra["GlobalSecondaryIndexes"] = [
            {"IndexName": i.name, "KeySchema": schema(i.partition_key, i.sort_key), "Projection": {"ProjectionType": "ALL"}}
            for i in table.indexes
        ]
    if table.stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    dynamodb.create_table(
        TableName=names.table_name(table.name),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
        KeySchema=schema(table.partition_key, table.sort_key),
        Tags=[{"Key": "bazaar:table", "Value": table.name}],
        **extra,
    )
    if table.ttl_attribute:
        # Stored, never enforced by moto; Bazaar never relies on TTL for correctness anyway.
        dynamodb.update_time_to_live(
            TableName=names.table_name(table.name),
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )


def _tables(service: Service, moto: MotoServer, names: LocalNames) -> None:
    for table in service.tables:
        create_table(service, moto, names, table.name)


def _queues(service: Service, moto: MotoServer, names: LocalNames) -> None:
    sqs = moto.client("sqs")
    for queue in service.queues:
        dlq_url = sqs.create_queue(
            QueueName=names.queue_name(queue.dlq_name),
            Attributes={"MessageRetentionPeriod": str(queue.dlq_retention_seconds)},
            tags={"bazaar:queue": queue.dlq_name},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=names.queue_name(queue.name),
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_seconds),
                "MessageRetentionPeriod": str(queue.retention_seconds),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
                ),
            },
            tags={"bazaar:queue": queue.name},
        )["QueueUrl"]
        names.queue_urls[queue.name] = url
        names.queue_urls[queue.dlq_name] = dlq_url


def _secrets(service: Service, moto: MotoServer, names: LocalNames) -> None:
    manager = moto.client("secretsmanager")
    for secret in service.secrets:
        value = {f: secret.local_values.get(f) or random_secrets.token_urlsafe(32) for f in secret.fields}
        manager.create_secret(
            Name=names.secret_id(secret.name),
            SecretString=json.dumps(value),
            Description=secret.purpose,
            Tags=[{"Key": "bazaar:secret", "Value": secret.name}],
        )


def _user_pool(service: Service, moto: MotoServer, names: LocalNames) -> None:
    from infra.description.model import Role

    cognito = moto.client("cognito-idp")
    pool = service.user_pool
    pool_id = cognito.create_user_pool(
        PoolName=f"{service.name}-{pool.name}",
        UsernameAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": pool.password_min_length,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
        MfaConfiguration=pool.mfa,
    )["UserPool"]["Id"]
    if pool.mfa != "OFF":
        # As the cloud pool: authenticator apps (TOTP) only, no SMS.
        cognito.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration=pool.mfa,
                                         SoftwareTokenMfaConfiguration={"Enabled": True})
    for role in Role:
        cognito.create_group(GroupName=role.value, UserPoolId=pool_id)
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{service.name}-api",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        EnableTokenRevocation=True,
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]["ClientId"]
    names.pool_id, names.client_id = pool_id, client_id


def _alarms(service: Service, moto: MotoServer, names: LocalNames) -> None:
    """The alarms exist locally too (moto keeps them, never evaluates them), so the parity test
    can see them and operators can read their definitions the same way."""
    cloudwatch = moto.client("cloudwatch")
    comparisons = {
        ">=": "GreaterThanOrEqualToThreshold",
        ">": "GreaterThanThreshold",
        "<": "LessThanThreshold",
        "<=": "LessThanOrEqualToThreshold",
    }
    for alarm in service.all_alarms:
        if alarm.queue:
            dimensions = {"QueueName": names.queue_name(alarm.queue)}
        elif alarm.state_machine:
            dimensions = {"StateMachineArn": names.state_machine_arn(alarm.state_machine)}
        elif alarm.function:
            dimensions = {"FunctionName": alarm.function}
        elif alarm.table:
            dimensions = {"TableName": names.table_name(alarm.table)}
        elif alarm.api:
            dimensions = {"ApiName": service.api_name}
        else:
            dimensions = {"service": service.name, **alarm.dimensions}
        dimension_list = [{"Name": k, "Value": v} for k, v in dimensions.items()]
        percentile = alarm.statistic.startswith("p")
        metric: dict[str, Any] = {
            "Namespace": alarm.namespace, "MetricName": alarm.metric, "Dimensions": dimension_list,
            "ExtendedStatistic" if percentile else "Statistic": alarm.statistic, "Period": alarm.period_seconds,
        }
        if alarm.math:
            # The expression over m0..mN, as the cloud twin's metric math alarm has it.
            stats = [
                {"Id": f"m{i}", "ReturnData": False, "MetricStat": {
                    "Metric": {"Namespace": alarm.namespace, "MetricName": name, "Dimensions": dimension_list},
                    "Period": alarm.period_seconds, "Stat": alarm.statistic}}
                for i, name in enumerate(alarm.metrics)
            ]
            metric = {"Metrics": [*stats, {"Id": "value", "Expression": alarm.math, "ReturnData": True}]}
        cloudwatch.put_metric_alarm(
            AlarmName=names.alarm_name(alarm.name),
            AlarmDescription=alarm.description,
            **metric,
            EvaluationPeriods=alarm.evaluation_periods,
            Threshold=alarm.threshold,
            ComparisonOperator=comparisons[alarm.comparison],
            TreatMissingData="breaching" if alarm.treat_missing_as_breaching else "notBreaching",
        )
