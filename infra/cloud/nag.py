"""cdk-nag (AwsSolutions, through CDK's v3 policy-validation API) and every acknowledgement, each
with the reason it is acceptable. `app.synth()` raises on any finding not acknowledged here.

Acknowledgements are attached to the narrowest construct that carries the finding (one role, one
method, the stage, the pool), never to the whole stack, so a new resource with the same problem
still fails synthesis.

Not a finding, but a deliberate choice: webhook function URLs use auth NONE because payment and
shipping providers cannot sign AWS requests; each webhook handler verifies the provider's
signature itself. (AwsSolutions has no rule on function URL auth, so nothing to acknowledge.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.cloud.state_machines import physical_name as state_machine_physical_name


if TYPE_CHECKING:
    from infra.cloud.stack import BazaarStack

PACK = "AwsSolutions"


def check(app: cdk.App) -> None:
    """Run AwsSolutions over everything in `app`; `app.synth()` raises on any open finding."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason))


def acknowledge(stack: BazaarStack) -> None:
    service = stack.service

    # -- Function roles -------------------------------------------------------------------
    for fn in service.functions:
        role = stack.functions[fn.name].role
        assert role is not None  # CDK gives every function it creates an execution role
        if fn.stream_triggers:
            wildcards = (
                "The only other wildcard statement is dynamodb:ListStreams, which a stream trigger "
                "needs and which supports no resource-level permissions either; it reads no data. "
                "The stream's records are granted on its stream ARN only, and table, queue, secret "
                "and log permissions name their resources."
            )
        else:
            wildcards = (
                "It is the only wildcard statement; table, queue, secret and log permissions name "
                "their resources."
            )
        if fn.state_machines:
            wildcards = (
                "It also answers task tokens of the state machines it declares "
                f"({', '.join(fn.state_machines)}): states:SendTaskSuccess, SendTaskFailure and "
                "SendTaskHeartbeat support no resource-level permissions (a token names no "
                "resource), so IAM accepts only '*' for them. " + wildcards
            )
            for machine_name in fn.state_machines:
                _ack(
                    role,
                    "IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                    f"{state_machine_physical_name(stack, machine_name)}:*]",
                    f"{fn.name} declares state machine {machine_name!r}; Describe/GetExecutionHistory/"
                    "StopExecution are granted on that machine's executions, whose names are chosen "
                    "when each starts. The pattern cannot reach another machine's executions.",
                )
        if fn.sends_sms:
            wildcards = (
                "It also sends SMS (sends_sms): sns:Publish to a phone number names no resource "
                "(a phone number has no ARN), so IAM accepts only '*' for it; the function "
                "publishes to no topic. " + wildcards
            )
        if fn.fixed_egress:
            wildcards = (
                "It also runs in the network's private subnets (fixed_egress), so it holds the "
                "actions of AWSLambdaVPCAccessExecutionRole (ec2:CreateNetworkInterface, "
                "DescribeNetworkInterfaces, DeleteNetworkInterface, DescribeSubnets, "
                "Assign/UnassignPrivateIpAddresses) on '*': Lambda checks them when it creates the "
                "function, before the network interfaces exist to be named, and the Describe "
                "actions support no resource-level permissions. " + wildcards
            )
        _ack(
            role,
            "IAM5[Resource::*]",
            "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which "
            "support no resource-level permissions (Resource must be '*'). " + wildcards,
        )
        for table_name, access in fn.tables.items():
            spec = service.table(table_name)
            if not spec.indexes:
                continue
            cfn_table = stack.tables[table_name].node.default_child
            assert isinstance(cfn_table, cdk.CfnElement)  # a Table's default child is its CfnTable
            logical_id = stack.resolve(stack.get_logical_id(cfn_table))
            _ack(
                role,
                f"IAM5[Resource::<{logical_id}.Arn>/index/*]",
                f"{fn.name} declares {access.value} access to table {table_name!r}; the grant "
                f"helper adds '<table arn>/index/*' so it can query that table's own GSIs "
                f"({', '.join(i.name for i in spec.indexes)}). The wildcard cannot reach any "
                "other table.",
            )

    # -- State machines -------------------------------------------------------------------
    for machine in service.state_machines:
        machine_role = stack.node.find_child(f"StateMachineRole-{machine.name}")
        _ack(
            machine_role,
            "IAM5[Resource::*]",
            "Delivering execution logs to CloudWatch Logs (logs:CreateLogDelivery, GetLogDelivery, "
            "UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, "
            "DescribeResourcePolicies, DescribeLogGroups) and traces to X-Ray (xray:PutTraceSegments, "
            "PutTelemetryRecords, GetSamplingRules, GetSamplingTargets): Step Functions documents "
            "these for a state machine's role and none supports resource-level permissions. "
            "lambda:InvokeFunction names the task functions only.",
        )
        for function_name in machine.task_functions:
            cfn_function = stack.functions[function_name].node.default_child
            assert isinstance(cfn_function, cdk.CfnElement)  # a Function's default child is its CfnFunction
            logical_id = stack.resolve(stack.get_logical_id(cfn_function))
            _ack(
                machine_role,
                f"IAM5[Resource::<{logical_id}.Arn>:*]",
                f"State machine {machine.name!r} runs {function_name!r} as a task; ':*' adds that "
                "function's versions and aliases (a task may name a qualified ARN), no other function.",
            )
        cfn_machine = stack.state_machines[machine.name]
        if machine.logging_level != "ALL":
            _ack(
                cfn_machine,
                "SF1",
                f"infra/description declares logging_level {machine.logging_level} for "
                f"{machine.name!r}, a choice reviewed with the description; failed executions are "
                "still logged, and they alarm.",
            )
        if not machine.tracing:
            _ack(
                cfn_machine,
                "SF2",
                f"infra/description declares tracing=False for {machine.name!r}, a choice reviewed "
                "with the description; its task functions are still traced.",
            )

    # -- API ------------------------------------------------------------------------------
    if stack.api is not None:
        api = stack.api
        _ack(
            api.api,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway uses to write execution and access logs "
            "(cloud_watch_role=True). AWS documents this managed policy for exactly that role; "
            "it grants log writing only and no data access.",
        )
        for path, preflight in api.preflights.items():
            _ack(
                preflight,
                "APIG4",
                f"OPTIONS {path} is the CORS preflight: browsers send it without credentials, so it "
                "cannot be authorized. Its MOCK integration answers from a template (204, headers "
                "only) and reaches no function or data.",
            )
        for _fn, route in service.routes:
            method = api.methods[(route.method, route.path)]
            if route.is_public:
                _ack(
                    method,
                    "APIG4",
                    f"{route.key} is declared PUBLIC in infra/description/bazaar.py: anyone may "
                    "call it without a token, by design. Stage throttling still applies.",
                )
                _ack(
                    method,
                    "COG4",
                    f"{route.key} is declared PUBLIC: no authorizer of any kind, by design.",
                )
            else:
                _ack(
                    method,
                    "COG4",
                    f"{route.key} is authorized by the Lambda REQUEST authorizer "
                    f"{service.api.authorizer!r}, which verifies the Cognito access token "
                    "(signature via JWKS, expiry, client id), checks its revocation (logout) and "
                    "the route's roles. A Cognito user-pool authorizer cannot check revocation "
                    "or roles.",
                )

    # -- WebSocket APIs -------------------------------------------------------------------
    for websocket_api in service.websocket_apis:
        cloud = stack.websocket_apis[websocket_api.name]
        for route_key in ("$disconnect", "$default"):
            _ack(
                cloud.routes[route_key],
                "APIG4",
                f"API Gateway authorizes a WebSocket connection once, on $connect (here by the REQUEST "
                f"authorizer {websocket_api.authorizer!r}: token, revocation, roles); {route_key} runs "
                "only on a connection $connect allowed, and API Gateway accepts no authorizer on it.",
            )
        cfn_api = cloud.api.node.default_child
        assert isinstance(cfn_api, cdk.CfnElement)  # a WebSocketApi's default child is its CfnApi
        api_logical_id = stack.resolve(stack.get_logical_id(cfn_api))
        for fn in service.functions:
            if websocket_api.name not in fn.pushes_to:
                continue
            _ack(
                stack.functions[fn.name].role,  # type: ignore[arg-type]
                f"IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
                f"<{api_logical_id}>/{cloud.stage.stage_name}/*/@connections/*]",
                f"{fn.name} pushes to WebSocket API {websocket_api.name!r}: execute-api:ManageConnections "
                "names a connection by its id, which API Gateway makes when a client connects, so no "
                "policy can list them; the pattern covers this API's stage only (its POST, GET and "
                "DELETE on @connections), no other API.",
            )

    # -- Cognito --------------------------------------------------------------------------
    pool = stack.identity.user_pool
    _ack(
        pool,
        "COG2",
        "COG2 passes only MfaConfiguration ON. The pool is OPTIONAL with authenticator apps (TOTP) "
        "only, no SMS: admins, who refund, pay out and suspend, reach admin routes only once they "
        "have enrolled one (the identity authorizer answers 403 MFA_REQUIRED until then, and their "
        "every sign-in then asks for a code); customers, sellers and scouts may turn it on (ON would "
        "stop a consumer marketplace's shoppers at sign-up). Cognito accepts ON only when a pool is "
        "created.",
    )
    _ack(
        pool,
        "COG8",
        "The Plus feature plan (threat protection) is billed per monthly active user; it is a "
        "production cost decision. The Essentials plan with the strong password policy and "
        "token revocation is the default for every stage.",
    )

    # -- Secrets --------------------------------------------------------------------------
    for secret in service.secrets:
        _ack(
            stack.secrets[secret.name],
            "SMG4",
            f"Secret {secret.name!r} ({secret.purpose}) has no rotation Lambda: its values are keys Bazaar "
            "owns (rotating the cursor signing key would invalidate every issued cursor, so it "
            "is rotated by hand) or credentials issued by providers "
            "(PhonePe, Shiprocket) that can only be rotated in the provider's console.",
        )
