"""One factory for every Lambda function in `SERVICE.functions`, and the cloud's physical names.

Each function gets its own role holding exactly what the description declares for it (plus
writing its own log group and X-Ray traces) in one inline policy (roles.py), its own log group,
the shared code asset and the shared dependency layer. A fixed-egress function also runs in the
network's private subnets with its security group, and its role may manage the network
interfaces Lambda attaches there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cloud import runtime, tags
from infra.cloud.email import email_identity_arn
from infra.cloud.flags import CloudFlags
from infra.cloud.identity import Identity
from infra.cloud.network import ENI_ACTIONS, EgressNetwork
from infra.cloud.queues import QueuePair
from infra.cloud.roles import InlineRole
from infra.cloud.state_machines import grant_state_machines, state_machine_arn
from infra.cloud.websockets import CloudWebSocketApi
from infra.description.model import Access, Function, Service

# An AttributeError here means aws-cdk-lib does not know runtime.PYTHON_VERSION yet.
RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + runtime.PYTHON_VERSION.replace(".", "_"))
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

_ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}

# Only the `functions` package is uploaded as function code; the shared `bazaar` package and
# the third-party dependencies come from the layer. Glob patterns are relative to the repo root;
# "*" does not match dotfiles (.git, .venv), hence ".*".
CODE_EXCLUDES = [".*", "*", "!functions", "!functions/**", "**/__pycache__", "**/*.pyc"]


class CloudNames:
    """`PhysicalNames` for the cloud: CloudFormation tokens resolved at deploy time."""

    def __init__(
        self,
        stack: Stack,
        tables: dict,
        queues: dict[str, QueuePair],
        secrets: dict,
        identity: Identity,
        websocket_apis: dict[str, CloudWebSocketApi] | None = None,
        flags: CloudFlags | None = None,
    ) -> None:
        self._stack, self._tables, self._queues = stack, tables, queues
        self._secrets, self._identity = secrets, identity
        self._websocket_apis = websocket_apis or {}
        self.flags = flags

    def table_name(self, table: str) -> str:
        return self._tables[table].table_name

    def queue_url(self, queue: str) -> str:
        return self._queues[queue].queue.queue_url

    def secret_id(self, secret: str) -> str:
        return self._secrets[secret].secret_arn

    def user_pool_id(self) -> str:
        return self._identity.user_pool.user_pool_id

    def user_pool_client_id(self) -> str:
        return self._identity.client.user_pool_client_id

    def state_machine_arn(self, state_machine: str) -> str:
        # Built from the machine's fixed name, not a reference to it (see state_machines.py).
        return state_machine_arn(self._stack, state_machine)

    def websocket_endpoint(self, websocket_api: str) -> str:
        return self._websocket_apis[websocket_api].management_endpoint

    def flags_identifiers(self) -> tuple[str, str, str]:
        assert self.flags is not None, "the description declares no feature flags"
        return self.flags.identifiers()

    def user_pool_arn(self) -> str:
        return self._identity.user_pool.user_pool_arn

    def user_pool_jwks_url(self) -> str:
        return (
            f"https://cognito-idp.{self._stack.region}.amazonaws.com/"
            f"{self._identity.user_pool.user_pool_id}/.well-known/jwks.json"
        )


@dataclass(frozen=True)
class Shared:
    """What every function is built with."""

    service: Service
    stage: str
    code: lambda_.Code
    layer: lambda_.ILayerVersion | None
    physical: CloudNames
    tables: dict
    queues: dict[str, QueuePair]
    secrets: dict
    network: EgressNetwork | None = None


def code_asset(repo_root: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(str(repo_root), exclude=CODE_EXCLUDES)


def layer(scope: Construct, layer_dir: Path) -> lambda_.LayerVersion:
    return lambda_.LayerVersion(
        scope,
        "DependenciesLayer",
        code=lambda_.Code.from_asset(str(layer_dir)),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[_ARCHITECTURES[runtime.LAYER_ARCHITECTURE]],
        description="Bazaar's third-party dependencies (pyproject.toml) and the shared bazaar package.",
    )


def _role(scope: Construct, fn: Function, log_group: logs.LogGroup) -> iam.Role:
    # Every statement below and every grant to the function lands in the role's inline policy.
    role = InlineRole(
        scope,
        f"Role-{fn.name}",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Runs {fn.name}: only what the service description declares for it.",
    )
    # Instead of the AWSLambdaBasicExecutionRole managed policy (any log group): its own only.
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
    )
    return role


_TABLE_GRANTS = {
    Access.READ: "grant_read_data",
    Access.WRITE: "grant_write_data",
    Access.READ_WRITE: "grant_read_write_data",
}


def build_function(scope: Construct, fn: Function, shared: Shared) -> lambda_.Function:
    if shared.layer is not None and fn.architecture != runtime.LAYER_ARCHITECTURE:
        raise ValueError(
            f"function {fn.name!r} declares {fn.architecture}, but layers/build.py builds the "
            f"dependency layer for {runtime.LAYER_ARCHITECTURE} only"
        )
    log_group = logs.LogGroup(scope, f"Logs-{fn.name}", retention=LOG_RETENTION)
    role = _role(scope, fn, log_group)
    environment = shared.service.function_environment(fn, shared.physical)
    environment["BAZAAR_STAGE"] = shared.stage
    placement: dict = {}
    if fn.fixed_egress:
        network = shared.network
        assert network is not None  # the description refuses fixed_egress without a network
        placement = dict(
            vpc=network.vpc, vpc_subnets=network.private_subnets, security_groups=[network.security_group]
        )
        # Instead of the AWSLambdaVPCAccessExecutionRole managed policy: its actions, inline.
        role.add_to_policy(iam.PolicyStatement(actions=list(ENI_ACTIONS), resources=["*"]))
    function = lambda_.Function(
        scope,
        f"Function-{fn.name}",
        description=fn.description,
        runtime=RUNTIME,
        architecture=_ARCHITECTURES[fn.architecture],
        handler=fn.handler,
        code=shared.code,
        layers=[shared.layer] if shared.layer is not None else None,
        memory_size=fn.memory_mb,
        timeout=Duration.seconds(fn.timeout_seconds),
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        role=role,
        environment=environment,
        # A webhook's function URL is public and no WAF can stand in front of it: its instances
        # are capped (Lambda answers 429 above the cap and the provider retries).
        reserved_concurrent_executions=fn.reserved_concurrency,
        **placement,
    )
    for construct in (function, role, log_group):
        Tags.of(construct).add(tags.FUNCTION, fn.name)

    for table, access in fn.tables.items():
        getattr(shared.tables[table], _TABLE_GRANTS[access])(function)
    for queue in fn.sends_to:
        shared.queues[queue].queue.grant_send_messages(function)
    for secret in fn.secrets:
        shared.secrets[secret].grant_read(function)
    if fn.user_pool_actions:
        # Exactly the Cognito admin actions the description lists for this function, on this pool.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[f"cognito-idp:{action}" for action in sorted(fn.user_pool_actions)],
                resources=[shared.physical.user_pool_arn()],
            )
        )
    grant_state_machines(role, fn, Stack.of(scope))
    if fn.email_identity:
        # SES checks the sending identity's ARN: exactly the one EMAIL_SENDER names.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[email_identity_arn(Stack.of(scope), fn.email_identity)],
            )
        )
    if fn.reads_flags and shared.physical.flags is not None:
        # The flag document of this stage, and no other AppConfig configuration.
        role.add_to_policy(shared.physical.flags.read_statement(Stack.of(scope)))
    if fn.sends_sms:
        # An SMS goes to a phone number, which has no ARN: IAM accepts only '*' for that Publish.
        # (Topics are not published to by this function; it is granted no topic.)
        role.add_to_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
    for trigger in fn.queue_triggers:
        function.add_event_source(
            event_sources.SqsEventSource(
                shared.queues[trigger.queue].queue,
                batch_size=trigger.batch_size,
                max_batching_window=(
                    Duration.seconds(trigger.max_batching_window_seconds)
                    if trigger.max_batching_window_seconds
                    else None
                ),
                report_batch_item_failures=True,
            )
        )
    for stream in fn.stream_triggers:
        # The on-failure destination is how a batch that failed for good stays visible (it
        # alarms); SqsDlq grants the function's role sqs:SendMessage on that queue only.
        function.add_event_source(
            event_sources.DynamoEventSource(
                shared.tables[stream.table],
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=stream.batch_size,
                max_batching_window=(
                    Duration.seconds(stream.max_batching_window_seconds)
                    if stream.max_batching_window_seconds
                    else None
                ),
                bisect_batch_on_error=stream.bisect_batch_on_error,
                retry_attempts=stream.max_retry_attempts,
                max_record_age=Duration.seconds(stream.max_record_age_seconds),
                report_batch_item_failures=True,
                # The description refuses a stream trigger without one.
                on_failure=event_sources.SqsDlq(shared.queues[str(stream.on_failure_queue)].queue),
            )
        )
    return function


def build_functions(scope: Construct, shared: Shared) -> dict[str, lambda_.Function]:
    return {fn.name: build_function(scope, fn, shared) for fn in shared.service.functions}
