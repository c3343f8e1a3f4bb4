"""One Step Functions standard workflow per `SERVICE.state_machines`, and what a function that
declares `state_machines` may do to them.

Each machine gets its definition as JSON with the `${function:<name>}` placeholders left in and
filled by CloudFormation's DefinitionSubstitutions with the task functions' ARNs (so the template
shows exactly which functions a machine runs), a role that may invoke exactly those functions,
its own CloudWatch log group (execution data included, at the described level) and X-Ray
tracing when the description asks for it. Its alarm is built with the others in monitoring.py.

Machines have fixed physical names (`<stack>-<name>`), so a function's grants and environment
name a machine by an ARN built from that name, not by a reference to it: a task function may then
also start executions of its own machine without a circular dependency in the template.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.cloud import tags
from infra.cloud.roles import InlineRole
from infra.description.model import Function, StateMachine, function_placeholder

LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Delivering execution logs to CloudWatch Logs and traces to X-Ray: Step Functions documents
# these actions for a machine's role, and none of them supports resource-level permissions.
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
TRACING_ACTIONS = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
# What a function declaring a machine may do, by the resource IAM checks each action against.
ON_THE_MACHINE = ("states:ListExecutions", "states:StartExecution")
ON_ITS_EXECUTIONS = ("states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution")
# A task token names no resource: IAM checks these against "*" only.
ON_TASK_TOKENS = ("states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess")


def physical_name(stack: Stack, machine: str) -> str:
    return f"{stack.stack_name}-{machine}"


def state_machine_arn(stack: Stack, machine: str) -> str:
    return stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=physical_name(stack, machine),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def executions_arn(stack: Stack, machine: str) -> str:
    """Every execution of the machine: `arn:...:execution:<machine name>:*`."""
    return stack.format_arn(
        service="states",
        resource="execution",
        resource_name=f"{physical_name(stack, machine)}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )



def substitution_key(function: str) -> str:
    """The DefinitionSubstitutions key of a function's placeholder: `${function:x}` -> `function:x`."""
    return function_placeholder(function)[2:-1]


def _role(scope: Construct, machine: StateMachine, functions: dict[str, lambda_.Function]) -> iam.Role:
    role = InlineRole(
        scope,
        f"StateMachineRole-{machine.name}",
        assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
        description=f"Runs state machine {machine.name}: invokes its task functions only.",
    )
    task_arns = [functions[name].function_arn for name in machine.task_functions]
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            # Each function and its versions and aliases (Step Functions may call a qualified ARN).
            resources=[arn for function_arn in task_arns for arn in (function_arn, f"{function_arn}:*")],
        )
    )
    role.add_to_policy(iam.PolicyStatement(actions=list(LOG_DELIVERY_ACTIONS), resources=["*"]))
    if machine.tracing:
        role.add_to_policy(iam.PolicyStatement(actions=list(TRACING_ACTIONS), resources=["*"]))
    return role


def build_state_machine(
    scope: Construct, machine: StateMachine, functions: dict[str, lambda_.Function]
) -> sfn.CfnStateMachine:
    stack = Stack.of(scope)
    log_group = logs.LogGroup(
        scope,
        f"StateMachineLogs-{machine.name}",
        # The prefix AWS recommends for vended logs: it keeps the log resource policy Step
        # Functions writes from growing with every log group.
        log_group_name=f"/aws/vendedlogs/states/{physical_name(stack, machine.name)}",
        retention=LOG_RETENTION,
    )
    role = _role(scope, machine, functions)
    cfn = sfn.CfnStateMachine(
        scope,
        f"StateMachine-{machine.name}",
        state_machine_name=physical_name(stack, machine.name),
        state_machine_type="STANDARD",
        role_arn=role.role_arn,
        definition_string=json.dumps(machine.document, indent=2, sort_keys=True),
        definition_substitutions={
            substitution_key(name): functions[name].function_arn for name in machine.task_functions
        },
        logging_configuration=sfn.CfnStateMachine.LoggingConfigurationProperty(
            level=machine.logging_level,
            include_execution_data=True,
            destinations=[
                sfn.CfnStateMachine.LogDestinationProperty(
                    cloud_watch_logs_log_group=sfn.CfnStateMachine.CloudWatchLogsLogGroupProperty(
                        log_group_arn=log_group.log_group_arn
                    )
                )
            ],
        ),
        tracing_configuration=sfn.CfnStateMachine.TracingConfigurationProperty(enabled=machine.tracing),
    )
    # Step Functions checks at creation that the role may deliver logs: the role, which carries its
    # policy inline, must exist first.
    cfn.node.add_dependency(role)
    for construct in (cfn, role, log_group):
        Tags.of(construct).add(tags.STATE_MACHINE, machine.name)
    return cfn


def build_state_machines(
    scope: Construct, machines: tuple[StateMachine, ...], functions: dict[str, lambda_.Function]
) -> dict[str, sfn.CfnStateMachine]:
    return {m.name: build_state_machine(scope, m, functions) for m in machines}


def grant_state_machines(role: iam.IRole, fn: Function, stack: Stack) -> None:
    """Least privilege for a function's `state_machines`: start and list on each machine, read
    and stop its executions, and answer task tokens (which IAM cannot narrow)."""
    if not fn.state_machines:
        return
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(ON_THE_MACHINE), resources=[state_machine_arn(stack, m) for m in fn.state_machines]
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(ON_ITS_EXECUTIONS), resources=[executions_arn(stack, m) for m in fn.state_machines]
        )
    )
    role.add_to_principal_policy(iam.PolicyStatement(actions=list(ON_TASK_TOKENS), resources=["*"]))
