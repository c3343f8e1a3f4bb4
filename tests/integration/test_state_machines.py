"""State machines in the local twin, on the state machine fixture service at clock speed 10:
executions run the real task handlers (through moto's Lambda API, forwarded to the runtime),
approvals and rejections arrive through boto3 against the twin's AWS endpoint (what
`aws stepfunctions send-task-success --endpoint-url` does), retries and catches follow the
definition, timeouts follow the twin's clock, and GET /_local/executions shows it all."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
import requests

from infra.local.aws import CREDENTIALS, REGION
from infra.local.stack import LocalConfig, LocalStack
from tests.fixtures.state_machine_service import (
    APPROVAL_TIMEOUT_SECONDS, LOG_TABLE, MACHINE, STATE_MACHINE_SERVICE,
)
from tests.waiting import until

pytestmark = pytest.mark.slow

CLOCK_SPEED = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = LocalStack(
        LocalConfig.for_tests(tmp_path_factory.mktemp("workflows-state"), seed_accounts=False, clock_speed=CLOCK_SPEED),
        STATE_MACHINE_SERVICE,
    )
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def sfn(stack):
    """An operator's client: plain boto3 against the twin's AWS endpoint, as the CLI is with
    --endpoint-url."""
    return boto3.client("stepfunctions", endpoint_url=stack.aws_endpoint, region_name=REGION, **CREDENTIALS)


def _start(stack, sfn, **input_) -> tuple[str, str]:
    run = f"run-{uuid.uuid4().hex[:12]}"
    arn = sfn.start_execution(
        stateMachineArn=stack.names.state_machine_arn(MACHINE),
        name=run,  # always named: moto names an unnamed one "None", and a second then fails
        input=json.dumps({"run": run, **input_}),
    )["executionArn"]
    return run, arn


def _finished(sfn, arn: str, seconds: float = 60) -> dict:
    return until(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, seconds)


def _item(stack, run: str, sk: str) -> dict | None:
    table = stack.names.table_name(LOG_TABLE)
    return stack.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": run}, "sk": {"S": sk}}).get("Item")


def _token(stack, run: str) -> str:
    return until(lambda: (item := _item(stack, run, "token")) and item["token"]["S"], 30)


def _history(sfn, arn: str) -> list[str]:
    return [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]


def test_an_execution_runs_the_real_task_handler(stack, sfn):
    run, arn = _start(stack, sfn, amount=40)

    execution = _finished(sfn, arn)

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["recorded"] == {"amount": 40, "attempt": 1}
    assert output["approval"] == {"approved": True, "by": "auto"}
    assert _item(stack, run, "recorded")["amount"] == {"N": "40"}  # written by the handler itself


def test_send_task_success_with_the_stored_token_resumes_the_execution(stack, sfn):
    run, arn = _start(stack, sfn, amount=500)
    token = _token(stack, run)  # stored by the waitForTaskToken task's handler
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True, "by": "alice"}))

    execution = _finished(sfn, arn)
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["approval"] == {"approved": True, "by": "alice"}
    assert "TaskSucceeded" in _history(sfn, arn)


def test_send_task_failure_takes_the_catch_path(stack, sfn):
    run, arn = _start(stack, sfn, amount=900)

    sfn.send_task_failure(taskToken=_token(stack, run), error="Rejected", cause="too large")

    execution = _finished(sfn, arn)
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"run": run, "outcome": "rejected", "error": "Rejected"}


def test_a_failing_handler_is_retried_as_the_definition_says(stack, sfn):
    _run, arn = _start(stack, sfn, amount=5, flaky_times=2)

    execution = _finished(sfn, arn)

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["recorded"] == {"amount": 5, "attempt": 3}
    assert _history(sfn, arn).count("TaskFailed") == 2


def test_a_handler_failing_beyond_its_retries_is_caught(stack, sfn):
    run, arn = _start(stack, sfn, amount=5, flaky_times=10)

    execution = _finished(sfn, arn)

    # One attempt and MaxAttempts (2) retries, then the Catch to the Fail state.
    assert (execution["status"], execution["error"]) == ("FAILED", "RecordFailed")
    history = sfn.get_execution_history(executionArn=arn)["events"]
    failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == ["Flaky", "Flaky", "Flaky"]
    assert "attempt 3 failed" in json.loads(failures[-1]["cause"])["errorMessage"]
    assert _item(stack, run, "attempts")["n"] == {"N": "3"}
    assert _item(stack, run, "recorded") is None


def test_a_handler_error_not_retried_is_caught_at_once(stack, sfn):
    _run, arn = _start(stack, sfn, amount=5, broken=True)

    execution = _finished(sfn, arn)

    assert (execution["status"], execution["error"]) == ("FAILED", "RecordFailed")
    assert _history(sfn, arn).count("TaskFailed") == 1


def test_a_task_timeout_elapses_on_the_twins_clock(stack, sfn):
    run, arn = _start(stack, sfn, amount=700)
    _token(stack, run)  # waiting for a person, who never answers

    execution = _finished(sfn, arn, seconds=APPROVAL_TIMEOUT_SECONDS)

    waited = (execution["stopDate"] - execution["startDate"]).total_seconds()
    assert json.loads(execution["output"]) == {"run": run, "outcome": "rejected", "error": "States.Timeout"}
    # Written 60 s; at clock speed 10 the twin waits 6 s (plus the tasks before it).
    assert APPROVAL_TIMEOUT_SECONDS / CLOCK_SPEED <= waited < APPROVAL_TIMEOUT_SECONDS / 2


def test_a_function_declaring_the_machine_starts_executions_by_its_settings(stack, sfn):
    run = f"run-{uuid.uuid4().hex[:12]}"

    started = stack.runtimes["sfn-starter"].invoke({"name": run, "input": json.dumps({"run": run, "amount": 1})})

    assert not started.failed, started.error
    assert started.payload["executionArn"].endswith(f":execution:workflows-{MACHINE}:{run}")
    assert _finished(sfn, started.payload["executionArn"])["status"] == "SUCCEEDED"


def test_local_executions_lists_executions_with_their_histories(stack, sfn):
    run, arn = _start(stack, sfn, amount=3)
    _finished(sfn, arn)

    listed = requests.get(f"{stack.url}/_local/executions", params={"state_machine": MACHINE}, timeout=30).json()

    assert listed["clock_speed"] == CLOCK_SPEED
    mine = next(e for e in listed["executions"] if e["name"] == run)
    assert (mine["state_machine"], mine["status"], mine["arn"]) == (MACHINE, "SUCCEEDED", arn)
    assert mine["input"] == {"run": run, "amount": 3}
    assert mine["output"]["recorded"] == {"amount": 3, "attempt": 1}
    types = [event["type"] for event in mine["history"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "TaskSucceeded" in types
    succeeded = requests.get(f"{stack.url}/_local/executions", params={"status": "succeeded"}, timeout=30).json()
    assert {e["status"] for e in succeeded["executions"]} == {"SUCCEEDED"}
    assert run in {e["name"] for e in succeeded["executions"]}
    unknown = requests.get(f"{stack.url}/_local/executions", params={"state_machine": "nope"}, timeout=30)
    assert unknown.status_code == 404


def test_only_task_functions_can_be_invoked_through_the_control_api(stack):
    refused = requests.post(f"{stack.url}/_local/functions/sfn-starter/invoke", json={}, timeout=30)
    assert refused.status_code == 404

    failed = requests.post(f"{stack.url}/_local/functions/sfn-record/invoke", json={"run": "direct", "broken": True},
                           timeout=30)
    assert failed.status_code == 200
    assert failed.headers["x-amz-function-error"] == "Unhandled"
    assert failed.json()["errorType"] == "ValueError"
