"""State machines in the local twin: their definitions as moto runs them, and their executions as
`GET /_local/executions` shows them.

moto interprets ASL itself (with `execute_state_machine` on). A Lambda task reaches moto's Lambda
API, whose invoke moto_process.py forwards to the local stack's runtime, so tasks run the real
handlers. Waits and timeouts follow the twin's clock: every static duration in the local copy of
a definition is divided by the clock speed (docs/local-twin.md, 'Step Functions')."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Mapping
from typing import Any

from infra.description.model import Service, StateMachine, state_scopes, substitute_functions
from infra.local.aws import ACCOUNT, REGION, LocalNames, MotoServer

# moto runs ASL only with this on; without Docker its Lambda is the simple backend, whose invoke
# moto_process.py forwards to the local runtime.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
STATE_MACHINE_TAG = "bazaar:state-machine"

# Static durations, in seconds, on a state; (Retry: on each retrier).
_STATE_DURATIONS = ("Seconds", "TimeoutSeconds", "HeartbeatSeconds")
_RETRY_DURATIONS = ("IntervalSeconds", "MaxDelaySeconds")


def local_function_arn(function: str) -> str:
    """What a task's FunctionName becomes locally: moto's Lambda API takes the name from it."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"


def scaled(seconds: Any, clock_speed: float) -> Any:
    """`seconds` on the twin's clock: divided by the speed, rounded up, at least 1 (ASL durations
    are positive integers). Anything not a number is left alone."""
    if clock_speed == 1 or isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return seconds
    return max(1, math.ceil(seconds / clock_speed))


def scale_durations(document: Mapping[str, Any], clock_speed: float) -> dict[str, Any]:
    """A copy of the definition with Wait `Seconds`, Task `TimeoutSeconds`/`HeartbeatSeconds`,
    Retry `IntervalSeconds`/`MaxDelaySeconds` and the machine's own `TimeoutSeconds` on the twin's
    clock. The `*Path` variants (read from the input at run time) and Wait `Timestamp` are not
    touched: they run in real time."""
    copy = json.loads(json.dumps(document))
    if "TimeoutSeconds" in copy:
        copy["TimeoutSeconds"] = scaled(copy["TimeoutSeconds"], clock_speed)
    for scope in state_scopes(copy):
        for state in scope["States"].values():
            for key in _STATE_DURATIONS:
                if key in state:
                    state[key] = scaled(state[key], clock_speed)
            for retrier in state.get("Retry", ()):
                for key in _RETRY_DURATIONS:
                    if key in retrier:
                        retrier[key] = scaled(retrier[key], clock_speed)
    return copy


def local_definition(machine: StateMachine, clock_speed: float) -> dict[str, Any]:
    """The definition the local twin creates: local Lambda ARNs for the placeholders, durations
    on its clock. At clock speed 1 it equals the cloud's once the cloud's substitutions are made."""
    arns = {name: local_function_arn(name) for name in machine.task_functions}
    return scale_durations(substitute_functions(machine.document, arns), clock_speed)


def role_arn(service: str, machine: str) -> str:
    # moto checks only the ARN's form; no local permission is ever evaluated.
    return f"arn:aws:iam::{ACCOUNT}:role/{service}-{machine}-state-machine"


def log_group_arn(service: str, machine: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/{service}-{machine}:*"


def describe_executions(sfn, machines: Mapping[str, str], status: str | None = None) -> list[dict[str, Any]]:
    """Every execution of `machines` (described name -> ARN), newest first, each with its input,
    output, error and history, read through the Step Functions API."""
    found: list[dict[str, Any]] = []
    for name, arn in machines.items():
        filters = {"statusFilter": status} if status else {}
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, **filters):
            for summary in page["executions"]:
                execution = sfn.describe_execution(executionArn=summary["executionArn"])
                history = sfn.get_execution_history(executionArn=summary["executionArn"])["events"]
                found.append({
                    "state_machine": name,
                    "name": execution["name"],
                    "arn": execution["executionArn"],
                    "status": execution["status"],
                    "started": execution["startDate"],
                    "stopped": execution.get("stopDate"),
                    "input": _json_or_text(execution.get("input")),
                    "output": _json_or_text(execution.get("output")),
                    "error": execution.get("error"),
                    "cause": execution.get("cause"),
                    "history": [_event(e) for e in history],
                })
    return sorted(found, key=lambda e: e["started"], reverse=True)


def _event(event: dict[str, Any]) -> dict[str, Any]:
    details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
    return {"id": event["id"], "type": event["type"], "timestamp": event["timestamp"], **details}


def _json_or_text(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def provision_state_machines(service: Service, moto: MotoServer, names: LocalNames, clock_speed: float) -> None:
    """Turns on moto's ASL interpreter and creates each machine through the Step Functions API
    (a machine made by moto's CloudFormation is invisible to the interpreter)."""
    if not service.state_machines:
        return
    request = urllib.request.Request(
        f"{moto.endpoint}/moto-api/config",
        data=json.dumps(MOTO_CONFIG).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    sfn = moto.client("stepfunctions")
    for machine in service.state_machines:
        arn = sfn.create_state_machine(
            name=names.state_machine_name(machine.name),
            definition=json.dumps(local_definition(machine, clock_speed)),
            roleArn=role_arn(service.name, machine.name),
            type="STANDARD",
            loggingConfiguration={
                "level": machine.logging_level,
                "includeExecutionData": True,
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group_arn(service.name, machine.name)}}],
            },
            tracingConfiguration={"enabled": machine.tracing},
            tags=[{"key": STATE_MACHINE_TAG, "value": machine.name}],
        )["stateMachineArn"]
        assert arn == names.state_machine_arn(machine.name), (arn, names.state_machine_arn(machine.name))
