"""The cloud twin of state machines, on the state machine fixture service: the definition as JSON
with its placeholders filled by DefinitionSubstitutions with the task functions' ARNs, a role
that may invoke exactly those functions, a log group at the described level with execution data,
X-Ray tracing, the derived alarm on AWS/States metrics to the alarm topic, least-privilege grants
for the function that declares the machine; cdk-nag and cfn-lint clean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cloud import tags
from tests.fixtures.state_machine_service import MACHINE, STATE_MACHINE_SERVICE
from tests.infra.template import by_tag, resources, role_statements

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(state_machine_synthesized) -> dict[str, Any]:
    return state_machine_synthesized.template


@pytest.fixture(scope="module")
def machine(template) -> dict[str, Any]:
    return by_tag(template, "AWS::StepFunctions::StateMachine", tags.STATE_MACHINE)[MACHINE][1]["Properties"]


def _function_ids(template) -> dict[str, str]:
    return {name: lid for name, (lid, _) in by_tag(template, "AWS::Lambda::Function", tags.FUNCTION).items()}


def _statements(template, role_lid: str) -> list[dict[str, Any]]:
    return role_statements(template, role_lid)


def test_the_state_machine_stack_passes_cdk_nag(state_machine_synthesized):
    report = json.loads((state_machine_synthesized.outdir / "validation-report.json").read_text())
    assert [(p["pluginName"], p["conclusion"], p["violations"]) for p in report["pluginReports"]] == [
        ("AwsSolutions", "success", [])
    ]


def test_the_state_machine_stack_passes_cfn_lint(state_machine_synthesized):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(state_machine_synthesized.template_path, config=ManualArgs(ignore_checks=["W3005"]))
    assert [str(m) for m in matches] == []


def test_the_definition_keeps_its_placeholders_and_the_template_fills_them_with_function_arns(template, machine):
    spec = STATE_MACHINE_SERVICE.state_machine(MACHINE)
    assert json.loads(machine["DefinitionString"]) == spec.document
    ids = _function_ids(template)
    assert machine["DefinitionSubstitutions"] == {
        f"function:{name}": {"Fn::GetAtt": [ids[name], "Arn"]} for name in ("sfn-record", "sfn-await")
    }
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["StateMachineName"] == f"workflows-dev-{MACHINE}"


def test_the_machine_role_may_invoke_exactly_its_task_functions(template, machine):
    role_lid = machine["RoleArn"]["Fn::GetAtt"][0]
    role = resources(template, "AWS::IAM::Role")[role_lid]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}
    invoke = [s for s in _statements(template, role_lid) if s["Action"] == "lambda:InvokeFunction"]
    ids = _function_ids(template)
    expected = []
    for name in ("sfn-record", "sfn-await"):
        arn = {"Fn::GetAtt": [ids[name], "Arn"]}
        expected += [arn, {"Fn::Join": ["", [arn, ":*"]]}]
    assert len(invoke) == 1 and invoke[0]["Resource"] == expected
    actions = {a for s in _statements(template, role_lid) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {a for a in actions if a.startswith(("dynamodb:", "states:", "sqs:"))}


def test_executions_are_logged_with_their_data_at_the_described_level_and_traced(template, machine):
    logging = machine["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", True)
    log_group_lid = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = resources(template, "AWS::Logs::LogGroup")[log_group_lid]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/vendedlogs/states/workflows-dev-{MACHINE}"
    assert log_group["RetentionInDays"] == 30
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_the_machine_alarms_on_failed_timed_out_and_aborted_executions(template):
    alarm = by_tag(template, "AWS::CloudWatch::Alarm", tags.ALARM)[f"{MACHINE}-failed"][1]["Properties"]
    (topic,) = list(resources(template, "AWS::SNS::Topic"))
    assert alarm["AlarmActions"] == [{"Ref": topic}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (
        1, "GreaterThanOrEqualToThreshold", 1,
    )
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    stats = [q["MetricStat"] for q in queries.values() if "MetricStat" in q]
    assert sorted(s["Metric"]["MetricName"] for s in stats) == [
        "ExecutionsAborted", "ExecutionsFailed", "ExecutionsTimedOut",
    ]
    assert {(s["Metric"]["Namespace"], s["Period"], s["Stat"]) for s in stats} == {("AWS/States", 300, "Sum")}
    dimension = stats[0]["Metric"]["Dimensions"][0]
    assert dimension["Name"] == "StateMachineArn"
    assert dimension["Value"]["Fn::Join"][1][-1] == f":stateMachine:workflows-dev-{MACHINE}"
    (total,) = [q for q in queries.values() if q.get("ReturnData", True)]
    assert total["Expression"] == "FILL(m0, 0) + FILL(m1, 0) + FILL(m2, 0)"


def test_a_function_declaring_the_machine_gets_least_privilege(template):
    role_lid = by_tag(template, "AWS::IAM::Role", tags.FUNCTION)["sfn-starter"][0]
    grants = {
        tuple(sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])): s["Resource"]
        for s in _statements(template, role_lid)
        if any(a.startswith("states:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    }
    assert set(grants) == {
        ("states:ListExecutions", "states:StartExecution"),
        ("states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"),
        ("states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"),
    }
    machine_arn = grants[("states:ListExecutions", "states:StartExecution")]["Fn::Join"][1]
    executions_arn = grants[("states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution")]["Fn::Join"][1]
    assert machine_arn[-1] == f":stateMachine:workflows-dev-{MACHINE}"
    assert executions_arn[-1] == f":execution:workflows-dev-{MACHINE}:*"
    assert grants[("states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess")] == "*"


def test_the_declaring_function_is_told_the_machine_arn_and_the_task_functions_are_not(template):
    functions = by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)
    starter = functions["sfn-starter"][1]["Properties"]["Environment"]["Variables"]
    assert starter["BAZAAR_STATE_MACHINE_SFN_APPROVAL"]["Fn::Join"][1][-1] == f":stateMachine:workflows-dev-{MACHINE}"
    for name in ("sfn-record", "sfn-await"):
        variables = functions[name][1]["Properties"]["Environment"]["Variables"]
        assert not any(key.startswith("BAZAAR_STATE_MACHINE_") for key in variables)
