"""The description refuses unsafe or inconsistent settings when it loads, naming the culprit."""

from __future__ import annotations

import dataclasses

import pytest

from infra.description import SERVICE
from infra.description.model import (
    PUBLIC, Access, DescriptionError, Function, Queue, QueueTrigger, Role, Route, Schedule, Service,
)
from infra.local.scheduler import Cadence


def _with(**changes) -> Service:
    fields = {f.name: getattr(SERVICE, f.name) for f in dataclasses.fields(SERVICE)}
    return Service(**{**fields, **changes})


def _function(**overrides) -> Function:
    base = dict(name="probe-fn", handler="functions.ops.api.handler", description="probe")
    return Function(**{**base, **overrides})


def test_bazaar_description_loads_and_its_handlers_live_in_functions():
    assert SERVICE.functions
    assert all(f.handler.startswith("functions.") for f in SERVICE.functions)


def test_every_described_schedule_can_be_emulated_locally():
    for _, schedule in SERVICE.schedules:
        Cadence.parse(schedule.expression)


def test_queue_visibility_under_six_times_the_consumer_timeout_is_refused():
    queue = Queue(name="slow", purpose="p", visibility_timeout_seconds=60)
    consumer = _function(timeout_seconds=30, queue_triggers=(QueueTrigger(queue="slow"),))
    with pytest.raises(DescriptionError, match=r"queue 'slow': visibility timeout 60s is under 6x .* 180s"):
        _with(queues=SERVICE.queues + (queue,), functions=SERVICE.functions + (consumer,))


def test_max_receive_count_under_five_is_refused():
    with pytest.raises(DescriptionError, match="max receive count 3 is under 5"):
        Queue(name="hasty", purpose="p", visibility_timeout_seconds=60, max_receive_count=3)


def test_route_without_roles_is_refused():
    with pytest.raises(DescriptionError, match="declares no roles"):
        Route("GET", "/v1/things", None, "things")


def test_admin_paths_are_admin_only():
    with pytest.raises(DescriptionError, match="admins only"):
        Route("GET", "/v1/admin/things", frozenset({Role.SELLER}), "things")


def test_function_touching_an_undeclared_table_is_refused():
    with pytest.raises(DescriptionError, match="touches table 'warehouse', which the description does not declare"):
        _with(functions=SERVICE.functions + (_function(tables={"warehouse": Access.READ}),))


def test_function_reading_an_undeclared_secret_is_refused():
    with pytest.raises(DescriptionError, match="reads secret 'bank'"):
        _with(functions=SERVICE.functions + (_function(secrets=("bank",)),))


def test_two_functions_serving_one_route_are_refused():
    twin = _function(routes=(Route("GET", "/health", PUBLIC, "again"),))
    with pytest.raises(DescriptionError, match="route GET /health is served by both"):
        _with(functions=SERVICE.functions + (twin,))


def test_api_function_timeout_over_api_gateway_limit_is_refused():
    with pytest.raises(DescriptionError, match="timeout must be <= 29 s"):
        _function(timeout_seconds=60, routes=(Route("GET", "/v1/x", PUBLIC, "x"),))


def test_reserved_environment_names_are_refused():
    with pytest.raises(DescriptionError, match="BAZAAR_TABLE_ORDERS is reserved"):
        _function(environment={"BAZAAR_TABLE_ORDERS": "orders"})


def test_malformed_schedule_is_refused():
    with pytest.raises(DescriptionError, match="rate"):
        Schedule(name="bad", expression="every 5 minutes", description="d")
    with pytest.raises(DescriptionError, match="rate\\(1 minute\\)"):
        Schedule(name="bad", expression="rate(1 minutes)", description="d")


def test_a_function_that_sends_email_must_name_its_sender():
    with pytest.raises(DescriptionError, match="must name EMAIL_SENDER"):
        _function(sends_email=True)
    with pytest.raises(DescriptionError, match="must name EMAIL_SENDER"):
        _function(sends_email=True, environment={"EMAIL_SENDER": "Bazaar <not an address>"})
    named = _function(sends_email=True, environment={"EMAIL_SENDER": "Bazaar <no-reply@bazaar.example>"})
    bare = _function(sends_email=True, environment={"EMAIL_SENDER": "ops@bazaar.example"})
    assert (named.email_identity, bare.email_identity) == ("no-reply@bazaar.example", "ops@bazaar.example")
    assert _function(environment={"EMAIL_SENDER": "ops@bazaar.example"}).email_identity is None


def test_the_service_lists_each_sender_identity_once():
    assert SERVICE.email_identities == ("no-reply@bazaar.example",)
    senders = [f.name for f in SERVICE.functions if f.sends_email]
    assert senders == ["notifications-worker"]
