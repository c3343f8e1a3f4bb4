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
from infra.description.edge import SECURITY_HEADERS
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
    # tooling'. Every template CloudFormation receives: the parent's and each nested stack's.
    files = synthesized.template_files
    assert len(files) == 3  # the parent, the REST API's nested stack and the monitoring one
    for path, _ in files.values():
        matches = lint_file(path, config=ManualArgs(ignore_checks=["W3005"]))
        assert [str(m) for m in matches] == [], path.name


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
        if spec.namespace != "Bazaar" or spec.math:
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
    methods = {lid: m for lid, m in resources(cloud_template, "AWS::ApiGateway::Method").items()
               if m["Properties"]["HttpMethod"] != "OPTIONS"}  # the preflights: see the CORS tests
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
        assert props["ResponseParameters"] == {
            "gatewayresponse.header.X-Request-Id": "context.requestId",
            **{f"gatewayresponse.header.{name}": f"'{value}'" for name, value in SECURITY_HEADERS.items()},
            "gatewayresponse.header.Vary": "'Origin'",
            # The stage throttle's 429 says when to retry, as the local gateway's does.
            **({"gatewayresponse.header.Retry-After": f"'{spec.retry_after_seconds}'"}
               if spec.retry_after_seconds is not None else {}),
        }
        # API Gateway can only map a fixed value here, never "the caller's origin if allowed".
        assert not any("Access-Control" in key for key in props["ResponseParameters"])
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
    expected = describe(SERVICE.at_stage("dev"))
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


# -- alarms, their recipients and the budget, per stage ----------------------------------------


def _alarm(template, name):
    return by_tag(template, "AWS::CloudWatch::Alarm", tags.ALARM)[name][1]["Properties"]


def _math(props):
    """(expression, {id: (namespace, metric, stat)}) of a metric-math alarm."""
    expression = next(m["Expression"] for m in props["Metrics"] if "Expression" in m)
    stats = {m["Id"]: (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"],
                       m["MetricStat"]["Stat"]) for m in props["Metrics"] if "MetricStat" in m}
    return expression, stats


def test_every_described_alarm_exists_with_its_threshold(cloud_template):
    alarms = by_tag(cloud_template, "AWS::CloudWatch::Alarm", tags.ALARM)
    staged = SERVICE.at_stage("dev")
    assert set(alarms) == {a.name for a in staged.all_alarms}
    for spec in staged.all_alarms:
        props = alarms[spec.name][1]["Properties"]
        assert props["Threshold"] == spec.threshold, spec.name
        assert props["EvaluationPeriods"] == spec.evaluation_periods, spec.name


def test_function_and_table_alarms_watch_their_own_aws_metrics(cloud_template):
    functions = by_tag(cloud_template, "AWS::Lambda::Function", tags.FUNCTION)
    tables = by_tag(cloud_template, "AWS::DynamoDB::Table", tags.TABLE)
    for function in SERVICE.functions:
        for suffix, metric in (("-errors", "Errors"), ("-throttles", "Throttles")):
            props = _alarm(cloud_template, f"{function.name}{suffix}")
            assert (props["Namespace"], props["MetricName"], props["Threshold"]) == ("AWS/Lambda", metric, 1)
            assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": functions[function.name][0]}}]
    for table in SERVICE.tables:
        expression, stats = _math(_alarm(cloud_template, f"{table.name}-throttles"))
        assert expression == "FILL(m0, 0) + FILL(m1, 0)"
        assert stats == {"m0": ("AWS/DynamoDB", "ReadThrottleEvents", "Sum"),
                         "m1": ("AWS/DynamoDB", "WriteThrottleEvents", "Sum")}
        dimensions = next(m for m in _alarm(cloud_template, f"{table.name}-throttles")["Metrics"]
                          if "MetricStat" in m)["MetricStat"]["Metric"]["Dimensions"]
        assert dimensions == [{"Name": "TableName", "Value": {"Ref": tables[table.name][0]}}]


def test_api_health_payment_and_lock_alarms(cloud_template):
    expression, stats = _math(_alarm(cloud_template, "api-5xx-rate"))
    assert expression == "100 * FILL(m0, 0) / m1"
    assert stats == {"m0": ("AWS/ApiGateway", "5XXError", "Sum"), "m1": ("AWS/ApiGateway", "Count", "Sum")}
    latency = _alarm(cloud_template, "api-latency-p99")
    assert (latency["Namespace"], latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"],
            latency["ComparisonOperator"]) == ("AWS/ApiGateway", "Latency", "p99", 500, "GreaterThanThreshold")
    assert {d["Name"]: d["Value"] for d in latency["Dimensions"]} == {"ApiName": "bazaar-dev"}
    health = _alarm(cloud_template, "health-failing")
    assert (health["MetricName"], health["Statistic"], health["ComparisonOperator"], health["TreatMissingData"]) == (
        "HealthCheckPassed", "Minimum", "LessThanThreshold", "breaching")
    expression, stats = _math(_alarm(cloud_template, "payment-success-rate-low"))
    assert stats == {"m0": ("Bazaar", "PaymentSucceeded", "Sum"), "m1": ("Bazaar", "PaymentFailed", "Sum")}
    locks = _alarm(cloud_template, "stock-locks-unreleased")
    assert (locks["MetricName"], locks["Threshold"], locks["EvaluationPeriods"], locks["TreatMissingData"]) == (
        "ExpiredLocksStillHeld", 0, 2, "breaching")


def _subscriptions(template):
    return sorted(s["Properties"]["Endpoint"] for s in resources(template, "AWS::SNS::Subscription").values()
                  if s["Properties"]["Protocol"] == "email")


def _budget(template):
    (budget,) = resources(template, "AWS::Budgets::Budget").values()
    return budget["Properties"]


def test_prod_emails_its_recipients_and_budgets_its_amount(prod_synthesized):
    from infra.description.stages import PROD

    template = prod_synthesized.template
    assert _subscriptions(template) == sorted(PROD.alarm_recipients)
    props = _budget(template)
    assert props["Budget"]["BudgetLimit"] == {"Amount": PROD.monthly_budget_usd, "Unit": "USD"}
    assert (props["Budget"]["BudgetType"], props["Budget"]["TimeUnit"]) == ("COST", "MONTHLY")
    alerts = sorted(
        (n["Notification"]["Threshold"], n["Notification"]["NotificationType"], n["Notification"]["ThresholdType"],
         tuple(sorted(s["Address"] for s in n["Subscribers"] if s["SubscriptionType"] == "EMAIL")))
        for n in props["NotificationsWithSubscribers"]
    )
    recipients = tuple(sorted(PROD.alarm_recipients))
    assert alerts == [(80, "ACTUAL", "PERCENTAGE", recipients), (100, "ACTUAL", "PERCENTAGE", recipients)]


def test_stages_differ_in_recipients_budget_and_thresholds(cloud_template, prod_synthesized):
    from infra.description.stages import DEV, PROD

    prod = prod_synthesized.template
    assert _subscriptions(cloud_template) == sorted(DEV.alarm_recipients) != _subscriptions(prod)
    assert _budget(cloud_template)["Budget"]["BudgetLimit"]["Amount"] == DEV.monthly_budget_usd
    assert _budget(prod)["Budget"]["BudgetLimit"]["Amount"] == PROD.monthly_budget_usd
    # dev has nobody to email: its budget keeps no notifications.
    assert "NotificationsWithSubscribers" not in _budget(cloud_template)
    assert _alarm(cloud_template, "api-5xx-rate")["Threshold"] == 5
    assert _alarm(prod, "api-5xx-rate")["Threshold"] == PROD.alarm_thresholds["api-5xx-rate"]
    assert _alarm(prod, "health-failing")["AlarmName"] == "bazaar-prod-health-failing"


def test_the_dashboard_shows_the_business(cloud_template):
    (dashboard,) = resources(cloud_template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for shown in ("OrdersPlaced", "PaymentSucceeded", "RevenuePaise", "PayoutFailed", "PayoutProcessed",
                  "FILL(paid, 0) / 100"):
        assert shown in body, shown


def test_prod_synth_passes_cdk_nag_and_cfn_lint(prod_synthesized):
    from cfnlint.api import ManualArgs, lint_file

    report = json.loads((prod_synthesized.outdir / "validation-report.json").read_text())
    assert [p["conclusion"] for p in report["pluginReports"]] == ["success"]
    for path in (prod_synthesized.template_path, *prod_synthesized.nested_template_paths.values()):
        assert [str(m) for m in lint_file(path, config=ManualArgs(ignore_checks=["W3005"]))] == [], path.name


def test_every_template_stays_well_under_cloudformations_500_resources(synthesized):
    """CloudFormation refuses a stack (nested ones included) of more than 500 resources; the
    margin says when to split again before a deploy finds out."""
    # Measured against CloudFormation's 500, not today's count: 30 resources of headroom for what
    # a change adds before anyone notices. (Roles hold their policies inline, which keeps the
    # count well below; the roles test above keeps that from creeping back.)
    for path, template in synthesized.template_files.values():
        count = len(template["Resources"])
        assert count <= 470, f"{path.name}: {count} resources: split it before it reaches CloudFormation's 500"
    # The REST API moved out to make room: the parent keeps a large margin for new functions.
    parent = len(synthesized.parent_template["Resources"])
    assert parent < 400, f"the parent stack holds {parent} resources"


def test_the_rest_api_lives_in_its_nested_stack_and_the_functions_in_the_parent(synthesized):
    (nested_id, nested), = [(lid, t) for lid, t in synthesized.nested_templates.items()
                            if resources(t, "AWS::ApiGateway::RestApi")]
    parent = synthesized.parent_template
    api_kinds = {"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Method", "AWS::ApiGateway::Stage",
                 "AWS::ApiGateway::GatewayResponse", "AWS::WAFv2::WebACL"}
    assert not [r["Type"] for r in parent["Resources"].values() if r["Type"] in api_kinds]
    assert {r["Type"] for r in nested["Resources"].values()} >= api_kinds
    assert not resources(nested, "AWS::Lambda::Function")
    # Each function the API invokes reaches the nested stack as a parameter naming its ARN.
    passed = parent["Resources"][nested_id]["Properties"]["Parameters"]
    functions = {lid for lid, _ in by_tag(parent, "AWS::Lambda::Function", tags.FUNCTION).values()}
    api_functions = {fn.name for fn, _ in SERVICE.routes} | {SERVICE.api.authorizer}
    assert {value["Fn::GetAtt"][0] for value in passed.values()} == {
        lid for name, (lid, _) in by_tag(parent, "AWS::Lambda::Function", tags.FUNCTION).items() if name in api_functions
    } <= functions
    assert set(passed) == set(nested["Parameters"])


def test_api_gateway_may_invoke_exactly_the_functions_behind_the_api(cloud_template):
    """Every function a method integrates (and the authorizer) has a permission for this API's
    execute-api ARN, wherever CDK put it; no other function has one."""
    functions = {lid: name for name, (lid, _) in by_tag(cloud_template, "AWS::Lambda::Function", tags.FUNCTION).items()}
    (api_id, _), = resources(cloud_template, "AWS::ApiGateway::RestApi").items()
    allowed = set()
    for permission in resources(cloud_template, "AWS::Lambda::Permission").values():
        props = permission["Properties"]
        if props["Principal"] != "apigateway.amazonaws.com":
            continue
        if api_id not in json.dumps(props["SourceArn"]):
            continue  # a WebSocket API's
        named = json.dumps(props["FunctionName"])
        allowed |= {name for lid, name in functions.items() if f'"{lid}"' in named}
    assert allowed == {fn.name for fn, _ in SERVICE.routes} | {SERVICE.api.authorizer}


# -- CORS preflight ----------------------------------------------------------------------------


def _preflights(template) -> dict[str, dict[str, Any]]:
    from infra.cloud.inventory import _route_path

    res = template["Resources"]
    return {
        _route_path(res, m["Properties"]["ResourceId"]): m["Properties"]
        for m in resources(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    }


def test_every_routed_path_answers_a_preflight_without_auth_from_a_mock(cloud_template):
    preflights = _preflights(cloud_template)
    assert set(preflights) == {route.path for _, route in SERVICE.routes}
    for path, props in preflights.items():
        assert props["AuthorizationType"] == "NONE" and "AuthorizerId" not in props, path
        integration = props["Integration"]
        assert integration["Type"] == "MOCK"
        assert json.loads(integration["RequestTemplates"]["application/json"]) == {"statusCode": 204}
        (response,) = integration["IntegrationResponses"]
        assert response["StatusCode"] == "204"
        assert [r["StatusCode"] for r in props["MethodResponses"]] == ["204"]
        assert response["ResponseParameters"] == {
            **{f"method.response.header.{name}": f"'{value}'" for name, value in SECURITY_HEADERS.items()},
            "method.response.header.Vary": "'Origin'",
        }
        declared = props["MethodResponses"][0]["ResponseParameters"]
        for header in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                       "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"):
            assert f"method.response.header.{header}" in declared, (path, header)


def _overrides(template_text: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'#set\(\$context\.responseOverride\.header\.([A-Za-z-]+) = "([^"]*)"\)', template_text))


def test_preflight_template_answers_the_edge_contract(cloud_template):
    from infra.description.edge import CORS_ALLOWED_HEADERS, CORS_MAX_AGE_SECONDS

    methods = SERVICE.methods_by_path
    for path, props in _preflights(cloud_template).items():
        text = props["Integration"]["IntegrationResponses"][0]["ResponseTemplates"]["application/json"]
        assert _overrides(text) == {
            "Access-Control-Allow-Origin": "$origin",
            "Access-Control-Allow-Methods": ",".join(sorted({*methods[path], "OPTIONS"})),
            "Access-Control-Allow-Headers": ",".join(CORS_ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
        }, path
        # Set only inside the allow-list check, each once (a second override of one header is a 5XX).
        check = text.index("$allowed.contains($origin)")
        assert all(text.index(f"responseOverride.header.{h}") > check for h in _overrides(text))
        assert text.rstrip().endswith("#end")


def _allow_list(template_text: str) -> list[str]:
    import re

    found = re.search(r"#set\(\$allowed = \[(.*)\]\)", template_text)
    assert found is not None
    return json.loads(f"[{found.group(1)}]")


def test_preflight_allow_list_is_the_stages(cloud_template, prod_synthesized):
    from infra.description.stages import DEV, PROD

    def lists(template):
        return {
            path: _allow_list(props["Integration"]["IntegrationResponses"][0]["ResponseTemplates"]["application/json"])
            for path, props in _preflights(template).items()
        }

    dev, prod = lists(cloud_template), lists(prod_synthesized.template)
    assert all(origins == list(DEV.cors_allowed_origins) for origins in dev.values())
    assert all(origins == list(PROD.cors_allowed_origins) for origins in prod.values())
    assert set(DEV.cors_allowed_origins).isdisjoint(PROD.cors_allowed_origins)


# -- AWS WAF -----------------------------------------------------------------------------------


def test_a_regional_web_acl_guards_the_stage_with_metrics_and_samples(cloud_template):
    (acl_id, acl), = resources(cloud_template, "AWS::WAFv2::WebACL").items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    assert props["DefaultAction"] == {"Allow": {}}
    for config in [props["VisibilityConfig"], *(r["VisibilityConfig"] for r in props["Rules"])]:
        assert config["CloudWatchMetricsEnabled"] is True and config["SampledRequestsEnabled"] is True
    (association,) = resources(cloud_template, "AWS::WAFv2::WebACLAssociation").values()
    (stage_id, _), = resources(cloud_template, "AWS::ApiGateway::Stage").items()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]
    # A rate rule's block is a 429 with Retry-After and the error envelope.
    rate_rules = [r for r in props["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert len(rate_rules) == 2
    for rule in rate_rules:
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        assert {h["Name"] for h in response["ResponseHeaders"]} == {"Retry-After"}
        body = json.loads(props["CustomResponseBodies"][response["CustomResponseBodyKey"]]["Content"])
        assert body["error"]["code"] == "THROTTLED"


def test_web_acl_matches_the_description_and_its_limits_differ_by_stage(cloud_template, prod_synthesized):
    from infra.cloud.inventory import cloud_only_from_template
    from infra.parity import describe_cloud_only

    dev = cloud_only_from_template(cloud_template)
    prod = cloud_only_from_template(prod_synthesized.template)
    assert differences(describe_cloud_only(SERVICE.at_stage("dev"), "dev"), dev, "cloud") == []
    assert differences(describe_cloud_only(SERVICE.at_stage("prod"), "prod"), prod, "cloud") == []
    assert dev.ip_rate_rules != prod.ip_rate_rules
    assert ("strict-per-ip", 100, ("/refund", "/v1/auth/", "/v1/checkout")) in prod.ip_rate_rules
    assert prod.managed_rule_groups == {("AWS/AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",))}


def test_web_acl_parity_fails_when_a_limit_drifts(cloud_template):
    import copy

    from infra.cloud.inventory import cloud_only_from_template
    from infra.parity import describe_cloud_only

    template = copy.deepcopy(cloud_template)
    (acl,) = resources(template, "AWS::WAFv2::WebACL").values()
    rule = next(r for r in acl["Properties"]["Rules"] if r["Name"] == "per-ip")
    rule["Statement"]["RateBasedStatement"]["Limit"] = 99999
    staged = SERVICE.at_stage("dev")
    assert differences(describe_cloud_only(staged, "dev"), cloud_only_from_template(template), "cloud") == [
        f"ip_rate_rules: ('per-ip', {staged.ip_rate_limits.per_ip}, ()) is described but missing from the cloud twin",
        "ip_rate_rules: ('per-ip', 99999, ()) is in the cloud twin but not in the description",
    ]


# -- webhooks: reserved concurrency ---------------------------------------------------------------


def test_webhook_functions_have_their_reserved_concurrency_and_no_other_does(cloud_template):
    functions = by_tag(cloud_template, "AWS::Lambda::Function", tags.FUNCTION)
    reserved = {name: f["Properties"].get("ReservedConcurrentExecutions") for name, (_, f) in functions.items()}
    assert {name: n for name, n in reserved.items() if n is not None} == {
        fn.name: webhook.reserved_concurrency for fn, webhook in SERVICE.webhooks
    }


# -- feature flags ------------------------------------------------------------------------------


def test_the_flag_document_is_deployed_to_the_stage_environment_and_only_readers_may_read_it(synthesized):
    from infra.description import SERVICE
    from infra.parity import flag_document_json

    resources = synthesized.template["Resources"]
    of = lambda kind: {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == kind}  # noqa: E731
    [environment] = of("AWS::AppConfig::Environment").values()
    [deployment] = of("AWS::AppConfig::Deployment").values()
    [version] = of("AWS::AppConfig::HostedConfigurationVersion").values()
    assert environment["Name"] == "dev" and deployment["DeploymentStrategyId"] == "AppConfig.AllAtOnce"
    assert flag_document_json(json.loads(version["Content"])) == flag_document_json(
        SERVICE.at_stage("dev").feature_flags.document)
    readers = {
        next(t["Value"] for t in role["Tags"] if t["Key"] == "bazaar:function")
        for role in of("AWS::IAM::Role").values()
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if "appconfig:GetLatestConfiguration" in json.dumps(statement.get("Action"))
    }
    assert readers == {f.name for f in SERVICE.functions if f.reads_flags}
    assert SERVICE.at_stage("prod").stage.flags_deployment_strategy == "AppConfig.Canary10Percent20Minutes"
