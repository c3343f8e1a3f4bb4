"""The state machine vocabulary (StateMachine, Function.state_machines) refuses unsafe or
inconsistent definitions when the description loads, naming the part at fault (moto validates
nothing, so this is the only static check the local twin has); and what it adds to a service
(an alarm per machine, environment, settings)."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from bazaar.platform.settings import UndeclaredResourceError, load_settings
from infra.description import SERVICE
from infra.description.model import DescriptionError, Function, Route, Service, StateMachine, substitute_functions
from infra.local.workflows import scale_durations
from tests.fixtures.state_machine_service import DEFINITION, MACHINE, STATE_MACHINE_SERVICE
from infra.description.model import PlaceholderNames


def _machine(definition=None, **overrides) -> StateMachine:
    base = dict(
        name="probe-flow", purpose="probing", definition=definition or copy.deepcopy(DEFINITION),
        task_functions=("sfn-record", "sfn-await"), timeout_seconds=3600,
    )
    return StateMachine(**{**base, **overrides})


def _broken(change) -> dict:
    definition = copy.deepcopy(DEFINITION)
    change(definition["States"])
    return definition


def _with(*machines: StateMachine, functions=()) -> Service:
    fields = {f.name: getattr(STATE_MACHINE_SERVICE, f.name) for f in dataclasses.fields(STATE_MACHINE_SERVICE)}
    return Service(**{**fields, "state_machines": STATE_MACHINE_SERVICE.state_machines + machines,
                      "functions": STATE_MACHINE_SERVICE.functions + tuple(functions)})


def test_the_fixture_machine_loads():
    machine = STATE_MACHINE_SERVICE.state_machine(MACHINE)
    assert machine.document["TimeoutSeconds"] == 3600
    assert STATE_MACHINE_SERVICE.task_functions == {"sfn-record", "sfn-await"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["Record"].update(Next="Nowhere"), r"state 'Record': goes to 'Nowhere', which names no state"),
        (lambda s: s["Decide"].update(Default="Nowhere"), "goes to 'Nowhere'"),
        (lambda s: s["Decide"]["Choices"][0].update(Next="Nowhere"), "goes to 'Nowhere'"),
        (lambda s: s["Record"]["Catch"][0].update(Next="Nowhere"), "goes to 'Nowhere'"),
        (lambda s: s["AwaitApproval"].pop("TimeoutSeconds"), r"state 'AwaitApproval': a Task needs TimeoutSeconds"),
        (lambda s: s["AutoApproved"].pop("Next"), r"state 'AutoApproved': needs Next or End"),
        (lambda s: s["Record"]["Parameters"].update(FunctionName="arn:aws:lambda:us-east-1:1:function:x"),
         r"task 'Record' must name its function in Parameters.FunctionName as \$\{function:"),
    ],
)
def test_a_broken_definition_is_refused_naming_the_state(change, message):
    with pytest.raises(DescriptionError, match=message):
        _machine(_broken(change))


def test_start_at_must_name_a_state():
    with pytest.raises(DescriptionError, match="StartAt 'Nope' names no state"):
        _machine({**copy.deepcopy(DEFINITION), "StartAt": "Nope"})


def test_task_functions_must_list_exactly_the_functions_the_tasks_run():
    with pytest.raises(DescriptionError, match=r"tasks run \['sfn-await'\], which task_functions does not list"):
        _machine(task_functions=("sfn-record",))
    with pytest.raises(DescriptionError, match=r"task_functions lists \['sfn-other'\], which no task runs"):
        _machine(task_functions=("sfn-record", "sfn-await", "sfn-other"))


def test_placeholders_belong_in_a_lambda_tasks_function_name_only():
    definition = _broken(lambda s: s["AutoApproved"]["Result"].update(arn="${function:sfn-record}x"))
    definition["States"]["AutoApproved"]["Result"]["arn"] = "${function:sfn-starter}"
    with pytest.raises(DescriptionError, match=r"placeholders outside .*\['sfn-starter'\]"):
        _machine(definition)


@pytest.mark.parametrize("timeout", [0, 31536001])
def test_the_machine_timeout_is_one_second_to_one_year(timeout):
    with pytest.raises(DescriptionError, match=r"timeout must be 1\.\.31536000 seconds"):
        _machine(timeout_seconds=timeout)


def test_the_timeout_is_declared_once():
    with pytest.raises(DescriptionError, match="declare it once, as timeout_seconds"):
        _machine({**copy.deepcopy(DEFINITION), "TimeoutSeconds": 5})


def test_nested_branches_are_checked_too():
    definition = copy.deepcopy(DEFINITION)
    definition["States"]["AutoApproved"] = {
        "Type": "Parallel", "Next": "Done",
        "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Next": "Done"}}}],
    }
    with pytest.raises(DescriptionError, match="state 'Inner': goes to 'Done', which names no state"):
        _machine(definition)


def test_two_machines_may_not_share_a_name():
    with pytest.raises(DescriptionError, match=r"state machine names used twice: \['probe-flow'\]"):
        _with(_machine(), _machine())


def test_task_functions_must_be_declared():
    with pytest.raises(DescriptionError, match="task function 'sfn-ghost' is not a declared function"):
        _with(_machine(_broken(lambda s: s["Record"]["Parameters"].update(FunctionName="${function:sfn-ghost}")),
                       task_functions=("sfn-ghost", "sfn-await")))


def test_a_task_function_serves_no_routes():
    routed = Function(
        name="sfn-routed", handler="functions.ops.api.handler", description="p",
        routes=(Route("GET", "/v1/probe", frozenset(), "probe"),),
    )
    definition = _broken(lambda s: s["Record"]["Parameters"].update(FunctionName="${function:sfn-routed}"))
    with pytest.raises(DescriptionError, match="task function 'sfn-routed' serves HTTP"):
        _with(_machine(definition, task_functions=("sfn-routed", "sfn-await")), functions=(routed,))


def test_a_function_may_only_name_declared_machines():
    starter = Function(name="sfn-lost", handler="functions.ops.api.handler", description="p",
                       state_machines=("no-such-flow",))
    with pytest.raises(DescriptionError, match="function 'sfn-lost' uses state machine 'no-such-flow'"):
        _with(functions=(starter,))


def test_the_state_machine_variables_are_reserved():
    with pytest.raises(DescriptionError, match="BAZAAR_STATE_MACHINE_X is reserved"):
        Function(name="sfn-env", handler="functions.ops.api.handler", description="p",
                 environment={"BAZAAR_STATE_MACHINE_X": "arn"})


def test_every_machine_gets_an_alarm_on_failed_timed_out_and_aborted_executions():
    alarm = next(a for a in STATE_MACHINE_SERVICE.all_alarms if a.state_machine == MACHINE)
    assert (alarm.name, alarm.metric, alarm.more_metrics, alarm.statistic, alarm.threshold, alarm.period_seconds) == (
        "sfn-approval-failed", "ExecutionsFailed", ("ExecutionsTimedOut", "ExecutionsAborted"), "Sum", 1, 300,
    )




def test_a_function_reads_its_machines_arn_from_its_settings():
    starter = STATE_MACHINE_SERVICE.function("sfn-starter")
    env = STATE_MACHINE_SERVICE.function_environment(starter, PlaceholderNames())
    assert env["BAZAAR_STATE_MACHINE_SFN_APPROVAL"] == PlaceholderNames().state_machine_arn("sfn-approval")
    settings = load_settings(env)
    assert settings.state_machine_arn("sfn-approval") == PlaceholderNames().state_machine_arn("sfn-approval")
    with pytest.raises(UndeclaredResourceError, match="state machine 'refund-approval'"):
        settings.state_machine_arn("refund-approval")
    record = STATE_MACHINE_SERVICE.function("sfn-record")
    assert not any(k.startswith("BAZAAR_STATE_MACHINE_") for k in STATE_MACHINE_SERVICE.function_environment(record, PlaceholderNames()))


def test_placeholders_become_the_twins_arns():
    machine = STATE_MACHINE_SERVICE.state_machine(MACHINE)
    document = substitute_functions(machine.document, {"sfn-record": "arn:r", "sfn-await": "arn:a"})
    assert document["States"]["Record"]["Parameters"]["FunctionName"] == "arn:r"
    assert document["States"]["AwaitApproval"]["Parameters"]["FunctionName"] == "arn:a"


def test_the_local_copy_runs_its_durations_on_the_twins_clock():
    machine = STATE_MACHINE_SERVICE.state_machine(MACHINE)
    fast = scale_durations(machine.document, 10)
    assert fast["TimeoutSeconds"] == 360
    assert fast["States"]["AwaitApproval"]["TimeoutSeconds"] == 6
    assert fast["States"]["Record"]["Retry"][0]["IntervalSeconds"] == 1  # never under 1 s
    assert scale_durations(machine.document, 1) == machine.document


def test_the_real_description_declares_the_refund_workflow():
    assert [m.name for m in SERVICE.state_machines] == ["refund-approval"]
    assert SERVICE.state_machine("refund-approval").task_functions == ("refunds-workflow",)
