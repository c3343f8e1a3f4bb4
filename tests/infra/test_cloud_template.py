"""The cloud twin: cdk-nag clean, cfn-lint clean, the properties the description promises, and
the same inventory as the description (the cloud half of the parity test)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cloud import runtime, tags
from infra.cloud.inventory import inventory_from_template
from infra.cloud.roles import POLICY_NAME
from infra.description.bazaar import SERVICE
from infra.description.model import Access
from infra.parity import describe, differences

from tests.infra.template import attached_policies, by_tag, function_role, resources, role_statements

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assertions_template(cloud_template):
    from aws_cdk.assertions import Template

    return Template.from_json(cloud_template)


# -- cdk-nag ---------------------------------------------------------------------------------


def test_synth_passes_cdk_nag(synthesized):
    # The session fixture's app.synth() raises on any unacknowledged AwsSolutions finding;
    # reaching here means there were none. CDK's report says so too.
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert [(p["pluginName"], p["conclusion"], p["violations"]) for p in report["pluginReports"]] == [
        ("AwsSolutions", "success", [])
    ]


def test_unacknowledged_finding_fails_synth(tmp_path):
    """The same nag setup rejects a stack with an unencrypted queue: the check can fail."""
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    from infra.cloud import nag

    app = cdk.App(outdir=str(tmp_path))
    nag.check(app)
    stack = cdk.Stack(app, "Careless")
    dlq = sqs.Queue(stack, "Dlq", enforce_ssl=True)
    sqs.Queue(
        stack,
        "Plain",
        encryption=sqs.QueueEncryption.UNENCRYPTED,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
    )
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert "AwsSolutions-SQS2" in rules


# -- cfn-lint --------------------------------------------------------------------------------


def test_cfn_lint_reports_no_errors(synthesized):
    from cfnlint.api import ManualArgs, lint_file

    # W3005 (DependsOn already enforced by GetAtt) is CDK's own redundancy; see docs/local-twin.md, 'CDK
    # tooling'.
    matches = lint_file(synthesized.template_path, config=ManualArgs(ignore_checks=["W3005"]))
    assert [str(m) for m in matches] == []


# -- storage ---------------------------------------------------------------------------------


def test_every_table_has_pitr_deletion_protection_ttl_and_retain(cloud_template):
    tables = by_tag(cloud_template, "AWS::DynamoDB::Table", tags.TABLE)
    assert set(tables) == {t.name for t in SERVICE.tables}
    for spec in SERVICE.tables:
        _, table = tables[spec.name]
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["DeletionProtectionEnabled"] is True
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionPolicy"] == "Retain"
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        for index in props.get("GlobalSecondaryIndexes", []):
            assert index["Projection"] == {"ProjectionType": "ALL"}


def test_every_queue_has_a_dlq_with_the_described_max_receive_count(cloud_template):
    queues = by_tag(cloud_template, "AWS::SQS::Queue", tags.QUEUE)
    for spec in SERVICE.queues:
        _, queue = queues[spec.name]
        dlq_id, dlq = queues[spec.dlq_name]
        props = queue["Properties"]
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": spec.max_receive_count,
        }
        assert props["VisibilityTimeout"] == spec.visibility_timeout_seconds
        assert props["MessageRetentionPeriod"] == spec.retention_seconds
        assert dlq["Properties"]["MessageRetentionPeriod"] == spec.dlq_retention_seconds
        for p in (props, dlq["Properties"]):
            assert p["SqsManagedSseEnabled"] is True


def test_a_dlq_depth_alarm_per_queue(cloud_template, synthesized):
    queues = by_tag(cloud_template, "AWS::SQS::Queue", tags.QUEUE)
    alarms = by_tag(cloud_template, "AWS::CloudWatch::Alarm", tags.ALARM)
    topics = list(resources(cloud_template, "AWS::SNS::Topic"))
    assert len(topics) == 1
    for spec in SERVICE.queues:
        _, alarm = alarms[f"{spec.dlq_name}-depth"]
        props = alarm["Properties"]
        assert props["Namespace"] == "AWS/SQS"
        assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert props["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [queues[spec.dlq_name][0], "QueueName"]}}
        ]
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["AlarmActions"] == [{"Ref": topics[0]}]
        assert props["AlarmName"] == f"{synthesized.stack_name}-{spec.dlq_name}-depth"


def test_bazaar_metric_alarms_carry_the_service_dimension(cloud_template):
    alarms = by_tag(cloud_template, "AWS::CloudWatch::Alarm", tags.ALARM)
    for spec in SERVICE.alarms:
        if spec.queue:
            continue
        props = alarms[spec.name][1]["Properties"]
        assert props["Namespace"] == "Bazaar"
        assert props["MetricName"] == spec.metric
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        assert dimensions == {"service": SERVICE.name, **spec.dimensions}
        assert props["Threshold"] == spec.threshold
        assert props["Period"] == spec.period_seconds
        missing = "breaching" if spec.treat_missing_as_breaching else "notBreaching"
        assert props["TreatMissingData"] == missing


# -- API -------------------------------------------------------------------------------------


def test_stage_throttling_access_logs_and_tracing(assertions_template):
    from aws_cdk.assertions import Match

    assertions_template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("requestId"),
            },
            "MethodSettings": [
                Match.object_like(
                    {
                        "ThrottlingRateLimit": SERVICE.api.throttle_rate_per_second,
                        "ThrottlingBurstLimit": SERVICE.api.throttle_burst,
                        "LoggingLevel": "INFO",
                        "MetricsEnabled": True,
                        "DataTraceEnabled": False,
                    }
                )
            ],
        },
    )


def test_methods_use_the_one_authorizer_unless_public(cloud_template):
    authorizers = resources(cloud_template, "AWS::ApiGateway::Authorizer")
    assert len(authorizers) == 1
    (authorizer_id, authorizer), = authorizers.items()
    props = authorizer["Properties"]
    assert props["Type"] == "REQUEST"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == 0
    functions = by_tag(cloud_template, "AWS::Lambda::Function", tags.FUNCTION)
    assert functions[SERVICE.api.authorizer][0] in json.dumps(props["AuthorizerUri"])

    public = {(r.method, r.path) for _, r in SERVICE.routes if r.is_public}
    inventory = inventory_from_template(cloud_template)
    methods = resources(cloud_template, "AWS::ApiGateway::Method")
    assert len(methods) == len(SERVICE.routes)
    for method in methods.values():
        p = method["Properties"]
        assert "RequestValidatorId" in p
    by_route = {(m, path): pub for m, path, _, pub in inventory.routes}
    assert {k for k, pub in by_route.items() if pub} == public
    for method in methods.values():
        p = method["Properties"]
        if p["AuthorizationType"] == "NONE":
            assert "AuthorizerId" not in p
        else:
            assert p["AuthorizationType"] == "CUSTOM"
            assert p["AuthorizerId"] == {"Ref": authorizer_id}


def test_gateway_responses_use_the_error_envelope(cloud_template):
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(cloud_template, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {g.kind for g in SERVICE.api.gateway_responses}
    for spec in SERVICE.api.gateway_responses:
        props = responses[spec.kind]
        assert props["StatusCode"] == str(spec.status)
        assert props["ResponseParameters"] == {"gatewayresponse.header.X-Request-Id": "context.requestId"}
        body = props["ResponseTemplates"]["application/json"]
        assert json.loads(body.replace("$context.requestId", "req-1")) == {
            "error": {"code": spec.code, "message": spec.message, "request_id": "req-1"}
        }


# -- functions -------------------------------------------------------------------------------


def test_functions_runtime_architecture_tracing_and_logs(cloud_template):
    functions = by_tag(cloud_template, "AWS::Lambda::Function", tags.FUNCTION)
    assert set(functions) == {f.name for f in SERVICE.functions}
    layers = list(resources(cloud_template, "AWS::Lambda::LayerVersion"))
    assert len(layers) == 1
    for spec in SERVICE.functions:
        props = functions[spec.name][1]["Properties"]
        assert props["Runtime"] == f"python{runtime.PYTHON_VERSION}"
        assert props["Architectures"] == [spec.architecture]
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_seconds
        assert props["Handler"] == spec.handler
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Layers"] == [{"Ref": layers[0]}]
        assert "LogGroup" in props["LoggingConfig"]
        env = props["Environment"]["Variables"]
        assert env["BAZAAR_FUNCTION"] == spec.name
        assert env["BAZAAR_STAGE"] == "dev"
        for table in spec.tables:
            assert f"BAZAAR_TABLE_{table.upper().replace('-', '_')}" in env


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _policy_of(template, function_name):
    role = function_role(template, tags.FUNCTION, function_name)
    roles = resources(template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in roles[role]["Properties"]
    return role_statements(template, role)


def test_functions_are_granted_only_the_tables_they_declare(cloud_template):
    tagged = by_tag(cloud_template, "AWS::DynamoDB::Table", tags.TABLE)
    tables = {name: lid for name, (lid, _) in tagged.items()}
    write_actions = {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    }
    stream_reads = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    for spec in SERVICE.functions:
        granted: dict[str, set[str]] = {}
        streamed: dict[str, set[str]] = {}
        for statement in _policy_of(cloud_template, spec.name):
            actions = _actions(statement)
            for name, lid in tables.items():
                if lid in json.dumps(statement["Resource"]):
                    # A stream trigger's mapping reads the table's stream (its StreamArn), never items.
                    into = streamed if "StreamArn" in json.dumps(statement["Resource"]) else granted
                    into.setdefault(name, set()).update(actions)
        assert set(granted) == set(spec.tables), spec.name
        assert set(streamed) == {t.table for t in spec.stream_triggers}, spec.name
        assert all(actions <= stream_reads for actions in streamed.values()), (spec.name, streamed)
        for name, access in spec.tables.items():
            writes = bool(granted[name] & write_actions)
            assert writes == (access in (Access.WRITE, Access.READ_WRITE)), (spec.name, name)


def test_a_function_without_queues_or_secrets_gets_none(cloud_template):
    statements = _policy_of(cloud_template, "ops-heartbeat")
    actions = {a for s in statements for a in _actions(s)}
    assert not {a for a in actions if a.startswith(("sqs:", "secretsmanager:", "cognito-idp:"))}
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert [sorted(s["Action"]) for s in wildcard] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]


def test_function_and_state_machine_roles_hold_their_statements_inline(cloud_template):
    """A separate AWS::IAM::Policy per role would cost the stack one resource each (see
    infra/cloud/roles.py): every role Bazaar builds carries its one inline policy instead."""
    roles = {function_role(cloud_template, tags.FUNCTION, fn.name): fn.name for fn in SERVICE.functions}
    machine_roles = by_tag(cloud_template, "AWS::IAM::Role", tags.STATE_MACHINE)
    roles.update({lid: name for name, (lid, _) in machine_roles.items()})
    assert len(roles) == len(SERVICE.functions) + len(SERVICE.state_machines)
    for role, name in roles.items():
        assert attached_policies(cloud_template, role) == {}, name
        policies = cloud_template["Resources"][role]["Properties"]["Policies"]
        assert [p["PolicyName"] for p in policies] == [POLICY_NAME], name
        assert policies[0]["PolicyDocument"]["Statement"], name


_CONSUMES = {
    "sqs:": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
    "dynamodb:": {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"},
}


def test_event_source_mappings_are_created_after_the_permissions_they_use(cloud_template):
    """Lambda checks a mapping's permissions when CloudFormation creates it. The mapping names its
    function, the function waits for its role, and the role carries every statement itself, so
    nothing the mapping needs can still be on its way."""
    functions = resources(cloud_template, "AWS::Lambda::Function")
    mappings = resources(cloud_template, "AWS::Lambda::EventSourceMapping").values()
    kinds = set()
    for mapping in mappings:
        props = mapping["Properties"]
        function = functions[props["FunctionName"]["Ref"]]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        assert role in function["DependsOn"]
        assert attached_policies(cloud_template, role) == {}
        statements = role_statements(cloud_template, role)
        source = props["EventSourceArn"]
        prefix = "dynamodb:" if source["Fn::GetAtt"][1] == "StreamArn" else "sqs:"
        kinds.add(prefix)
        assert _CONSUMES[prefix] <= _granted_on(statements, source), props["FunctionName"]
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None:
            assert "sqs:SendMessage" in _granted_on(statements, destination), props["FunctionName"]
    assert kinds == set(_CONSUMES)  # the description has both kinds of trigger


def _granted_on(statements: list[dict[str, Any]], resource: dict[str, Any]) -> set[str]:
    """The actions the statements allow on exactly `resource` (a template reference)."""
    return {
        a
        for s in statements
        if resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        for a in _actions(s)
    }


# -- identity --------------------------------------------------------------------------------


def test_user_pool_client(assertions_template):
    from aws_cdk.assertions import Match

    pool = SERVICE.user_pool
    assertions_template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "ExplicitAuthFlows": Match.array_equals(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]),
            "GenerateSecret": False,
            "EnableTokenRevocation": True,
            "PreventUserExistenceErrors": "ENABLED",
            "AccessTokenValidity": pool.access_token_minutes,
            "IdTokenValidity": pool.access_token_minutes,
            "RefreshTokenValidity": pool.refresh_token_days * 24 * 60,
            "AllowedOAuthFlows": Match.absent(),
        },
    )
    assertions_template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "UsernameAttributes": ["email"],
            "Policies": {
                "PasswordPolicy": {
                    "MinimumLength": pool.password_min_length,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                    "RequireUppercase": True,
                }
            },
        },
    )


def test_user_pool_mfa_is_optional_with_authenticator_apps_only(cloud_template):
    pools = [r["Properties"] for r in cloud_template["Resources"].values() if r["Type"] == "AWS::Cognito::UserPool"]
    assert len(pools) == 1
    assert SERVICE.user_pool.mfa == "OPTIONAL"
    assert pools[0]["MfaConfiguration"] == "OPTIONAL"
    # TOTP only: no SMS factor, so no SNS role or SMS configuration either.
    assert pools[0]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert "SmsConfiguration" not in pools[0]


def test_outputs(cloud_template):
    outputs = cloud_template["Outputs"]
    assert {"UserPoolId", "UserPoolClientId", "ApiUrl"} <= set(outputs)
    webhook_outputs = {k for k in outputs if k.startswith("WebhookUrl")}
    assert len(webhook_outputs) == len(SERVICE.webhooks)


# -- parity ----------------------------------------------------------------------------------


def test_inventory_matches_the_description(cloud_template):
    actual = inventory_from_template(cloud_template)
    expected = describe(SERVICE)
    assert differences(expected, actual, "cloud") == []
    assert actual == expected


# -- webhooks ----------------------------------------------------------------------------------


def test_webhooks_become_function_urls_with_outputs(cloud_template):
    """Each provider webhook is a function URL with auth NONE (its handler verifies the caller),
    announced as a stack output."""
    webhooks = [w.path for _, w in SERVICE.webhooks]
    assert sorted(webhooks) == ["/webhooks/phonepe", "/webhooks/razorpayx", "/webhooks/shiprocket"]
    urls = resources(cloud_template, "AWS::Lambda::Url")
    assert [u["Properties"]["AuthType"] for u in urls.values()] == ["NONE"] * len(webhooks)
    assert len([k for k in cloud_template["Outputs"] if k.startswith("WebhookUrl")]) == len(webhooks)


def test_the_stack_stays_well_under_cloudformations_500_resources(synthesized):
    """CloudFormation refuses a stack of more than 500 resources; the margin says when to split
    one (for example the API into a nested stack) before a deploy finds out."""
    count = len(synthesized.template["Resources"])
    # Measured against CloudFormation's 500, not today's count: 30 resources of headroom for what
    # a change adds before anyone notices. (Roles hold their policies inline, which keeps the
    # count well below; the roles test above keeps that from creeping back.)
    assert count <= 470, f"{count} resources: split the stack before it reaches CloudFormation's 500"
