"""The cloud twin of DynamoDB streams, on the stream fixture service: each table's stream view
type, one event source mapping per stream trigger with the described settings and its on-failure
queue, least-privilege grants for it, the on-failure queue's alarm, the dispatcher's routes;
cdk-nag and cfn-lint clean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cloud import tags
from tests.fixtures.stream_service import ON_FAILURE, STREAM_SERVICE

from tests.infra.template import by_tag, function_role, resources, role_statements, tag

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(stream_synthesized) -> dict[str, Any]:
    return stream_synthesized.template


def _stream_mappings(template) -> dict[tuple[str, str], dict[str, Any]]:
    """(table logical id, function name) -> properties, for mappings reading a table's stream."""
    found = {}
    for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        source = props["EventSourceArn"].get("Fn::GetAtt", [None, None])
        if source[1] == "StreamArn":
            found[(source[0], tag(mapping, tags.FUNCTION))] = props
    return found


def test_the_stream_stack_passes_cdk_nag(stream_synthesized):
    report = json.loads((stream_synthesized.outdir / "validation-report.json").read_text())
    assert [(p["pluginName"], p["conclusion"], p["violations"]) for p in report["pluginReports"]] == [
        ("AwsSolutions", "success", [])
    ]


def test_the_stream_stack_passes_cfn_lint(stream_synthesized):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(stream_synthesized.template_path, config=ManualArgs(ignore_checks=["W3005"]))
    assert [str(m) for m in matches] == []


def test_tables_stream_with_the_described_view_type(template):
    tables = by_tag(template, "AWS::DynamoDB::Table", tags.TABLE)
    for spec in STREAM_SERVICE.tables:
        props = tables[spec.name][1]["Properties"]
        if spec.stream:
            assert props["StreamSpecification"] == {"StreamViewType": spec.stream}
        else:
            assert "StreamSpecification" not in props


def test_each_stream_trigger_is_a_mapping_with_the_described_settings(template):
    tables = by_tag(template, "AWS::DynamoDB::Table", tags.TABLE)
    queues = by_tag(template, "AWS::SQS::Queue", tags.QUEUE)
    functions = by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)
    mappings = _stream_mappings(template)
    assert len(mappings) == len(STREAM_SERVICE.stream_triggers)
    for fn, trigger in STREAM_SERVICE.stream_triggers:
        props = mappings[(tables[trigger.table][0], fn.name)]
        expected = {
            "EventSourceArn": {"Fn::GetAtt": [tables[trigger.table][0], "StreamArn"]},
            "FunctionName": {"Ref": functions[fn.name][0]},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": trigger.batch_size,
            "BisectBatchOnFunctionError": trigger.bisect_batch_on_error,
            "MaximumRetryAttempts": trigger.max_retry_attempts,
            "MaximumRecordAgeInSeconds": trigger.max_record_age_seconds,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [queues[trigger.on_failure_queue][0], "Arn"]}}
            },
        }
        if trigger.max_batching_window_seconds:
            expected["MaximumBatchingWindowInSeconds"] = trigger.max_batching_window_seconds
        assert {k: v for k, v in props.items() if k != "Tags"} == expected


def _statements(template, function: str) -> list[dict[str, Any]]:
    return role_statements(template, function_role(template, tags.FUNCTION, function))


def _actions(statement) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_a_stream_reader_may_read_its_own_stream_and_send_to_its_on_failure_queue_only(template):
    tables = by_tag(template, "AWS::DynamoDB::Table", tags.TABLE)
    queues = by_tag(template, "AWS::SQS::Queue", tags.QUEUE)
    statements = _statements(template, "streams-poison")
    stream_reads = [s for s in statements if "dynamodb:DescribeStream" in _actions(s)]
    assert stream_reads == [{
        "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [tables["stream-poison"][0], "StreamArn"]},
    }]
    sends = [s for s in statements if "sqs:SendMessage" in _actions(s)]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [queues[ON_FAILURE][0], "Arn"]}]
    wildcards = [s for s in statements if s["Resource"] == "*"]
    assert sorted(a for s in wildcards for a in _actions(s)) == [
        "dynamodb:ListStreams", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    ]


def test_the_on_failure_queue_alarms_at_any_depth(template, stream_synthesized):
    queues = by_tag(template, "AWS::SQS::Queue", tags.QUEUE)
    alarms = by_tag(template, "AWS::CloudWatch::Alarm", tags.ALARM)
    props = alarms[f"{ON_FAILURE}-depth"][1]["Properties"]
    assert props["Namespace"] == "AWS/SQS"
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Statistic"] == "Maximum"
    assert props["Period"] == 60
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queues[ON_FAILURE][0], "QueueName"]}}
    ]
    assert props["AlarmName"] == f"{stream_synthesized.stack_name}-{ON_FAILURE}-depth"


def test_the_dispatcher_gets_its_routes_and_its_queue(template):
    queues = by_tag(template, "AWS::SQS::Queue", tags.QUEUE)
    functions = by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)
    env = functions["streams-dispatcher"][1]["Properties"]["Environment"]["Variables"]
    assert json.loads(env["BAZAAR_EVENT_ROUTES"]) == {"stream-fanout": ["ThingHappened", "ThingUndone"]}
    assert env["BAZAAR_QUEUE_STREAM_FANOUT"] == {"Ref": queues["stream-fanout"][0]}
    assert "BAZAAR_EVENT_ROUTES" not in functions["streams-shape"][1]["Properties"]["Environment"]["Variables"]
