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
        _ack(
            api.api.deployment_stage,
            "APIG3",
            "No WAF web ACL yet: the stage is throttled (rate and burst from the description), "
            "every non-public route goes through the REQUEST authorizer and request validation. "
            "A WAF ACL (with its monthly cost) is a production decision, not a twin default.",
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

    # -- Cognito --------------------------------------------------------------------------
    pool = stack.identity.user_pool
    _ack(
        pool,
        "COG2",
        "MFA is not required of marketplace customers and sellers (sign-in friction for a "
        "consumer marketplace); passwords are 12+ characters with upper, lower, digit and "
        "symbol, tokens are revocable and short-lived. Requiring MFA is a product decision to "
        "revisit, for admins first.",
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
