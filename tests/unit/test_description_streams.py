"""The stream vocabulary (Table.stream, StreamTrigger, EventRoute) refuses unsafe or inconsistent
settings when the description loads, naming the part at fault; and what it adds to a service
(alarms, environment, lookups)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from infra.description import SERVICE
from infra.description.model import (
    DescriptionError, EventRoute, Function, Key, Queue, QueueTrigger, Service, StreamTrigger, Table,
)
from infra.description.model import PlaceholderNames

OUTBOX = Table(name="probe-outbox", purpose="p", partition_key=Key("pk"), sort_key=Key("sk"), stream="NEW_IMAGE")
PLAIN = Table(name="probe-plain", purpose="p", partition_key=Key("pk"))
FAILED = Queue(name="probe-failed", purpose="stream batches that failed for good", visibility_timeout_seconds=60)
FANOUT = Queue(name="probe-fanout", purpose="events for the probe consumer", visibility_timeout_seconds=60)


def _trigger(**overrides) -> StreamTrigger:
    return StreamTrigger(**{"table": "probe-outbox", "on_failure_queue": "probe-failed", **overrides})


def _function(name: str = "probe-dispatcher", **overrides) -> Function:
    base = dict(name=name, handler="functions.ops.api.handler", description="probe")
    return Function(**{**base, **overrides})


CONSUMER = _function("probe-consumer", queue_triggers=(QueueTrigger(queue="probe-fanout"),))


def _with(*functions: Function, tables=(OUTBOX, PLAIN), queues=(FAILED, FANOUT)) -> Service:
    fields = {f.name: getattr(SERVICE, f.name) for f in dataclasses.fields(SERVICE)}
    return Service(**{
        **fields,
        "tables": SERVICE.tables + tuple(tables),
        "queues": SERVICE.queues + tuple(queues),
        "functions": SERVICE.functions + (CONSUMER, *functions),
    })


def test_a_streamed_table_and_a_dispatcher_with_routes_load():
    dispatcher = _function(
        stream_triggers=(_trigger(),),
        sends_to=("probe-fanout",),
        event_routes=(EventRoute("probe-fanout", ("OrderPlaced", "OrderCancelled")),),
    )
    service = _with(dispatcher)
    assert [t for f, t in service.stream_triggers if f is dispatcher] == [dispatcher.stream_triggers[0]]
    assert [r for f, r in service.event_routes if f is dispatcher] == [dispatcher.event_routes[0]]


@pytest.mark.parametrize("view", ["NEW_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY", "OLD_IMAGE"])
def test_every_stream_view_type_is_accepted(view):
    assert Table(name="probe-t", purpose="p", partition_key=Key("pk"), stream=view).stream == view


def test_an_unknown_stream_view_type_is_refused():
    with pytest.raises(DescriptionError, match="table 'probe-t': stream must be one of"):
        Table(name="probe-t", purpose="p", partition_key=Key("pk"), stream="EVERYTHING")


def test_a_trigger_without_an_on_failure_queue_is_refused():
    with pytest.raises(DescriptionError, match="stream trigger on 'probe-outbox': declares no on_failure_queue; "
                                               "a record that keeps failing would be dropped silently"):
        StreamTrigger(table="probe-outbox")


@pytest.mark.parametrize(("attempts", "message"), [
    (-1, r"max_retry_attempts -1 \(unbounded\) retries a failing record until it expires"),
    (10001, "max_retry_attempts must be 0..10000"),
    (-2, "max_retry_attempts must be 0..10000"),
])
def test_unbounded_or_out_of_range_retries_are_refused(attempts, message):
    with pytest.raises(DescriptionError, match=message):
        _trigger(max_retry_attempts=attempts)


@pytest.mark.parametrize(("age", "message"), [
    (-1, r"max_record_age_seconds -1 \(unbounded\)"),
    (59, "max_record_age_seconds must be 60..604800"),
    (604801, "max_record_age_seconds must be 60..604800"),
])
def test_unbounded_or_out_of_range_record_age_is_refused(age, message):
    with pytest.raises(DescriptionError, match=message):
        _trigger(max_record_age_seconds=age)


@pytest.mark.parametrize("size", [0, 10001])
def test_batch_size_out_of_range_is_refused(size):
    with pytest.raises(DescriptionError, match=r"batch size must be 1\.\.10000"):
        _trigger(batch_size=size)


@pytest.mark.parametrize("window", [-1, 301])
def test_batching_window_out_of_range_is_refused(window):
    with pytest.raises(DescriptionError, match=r"batching window must be 0\.\.300 seconds"):
        _trigger(max_batching_window_seconds=window)


def test_starting_at_latest_is_refused():
    with pytest.raises(DescriptionError, match="starting position must be TRIM_HORIZON"):
        _trigger(starting_position="LATEST")


def test_a_trigger_on_an_undeclared_table_is_refused():
    reader = _function(stream_triggers=(_trigger(table="probe-ledger"),))
    with pytest.raises(DescriptionError, match="stream trigger on 'probe-ledger': the description does not declare"):
        _with(reader)


def test_a_trigger_on_a_table_without_a_stream_is_refused():
    reader = _function(stream_triggers=(_trigger(table="probe-plain"),))
    with pytest.raises(DescriptionError, match="table 'probe-plain' has no stream"):
        _with(reader)


def test_an_undeclared_on_failure_queue_is_refused():
    reader = _function(stream_triggers=(_trigger(on_failure_queue="probe-nowhere"),))
    with pytest.raises(DescriptionError, match="on_failure_queue 'probe-nowhere' is not a declared queue"):
        _with(reader)


def test_more_than_two_readers_of_one_stream_are_refused():
    readers = [_function(f"probe-reader-{i}", stream_triggers=(_trigger(),)) for i in range(3)]
    with pytest.raises(DescriptionError, match="table 'probe-outbox': its stream has more than two readers"):
        _with(*readers)


def test_an_event_route_outside_sends_to_is_refused():
    with pytest.raises(DescriptionError, match="routes events to queue 'probe-fanout', which is not in its sends_to"):
        _function(event_routes=(EventRoute("probe-fanout", ("OrderPlaced",)),))


def test_an_event_route_to_an_undeclared_queue_is_refused():
    dispatcher = _function(sends_to=("probe-elsewhere",), event_routes=(EventRoute("probe-elsewhere", ("OrderPlaced",)),))
    with pytest.raises(DescriptionError, match="sends to queue 'probe-elsewhere', which the description does not declare"):
        _with(dispatcher)


def test_an_event_route_to_a_queue_nobody_consumes_is_refused():
    dispatcher = _function(sends_to=("probe-failed",), event_routes=(EventRoute("probe-failed", ("OrderPlaced",)),))
    with pytest.raises(DescriptionError, match="event route to 'probe-failed': the queue has no consumer"):
        _with(dispatcher)


@pytest.mark.parametrize("name", ["orderPlaced", "order_placed", "ORDER_PLACED", "Order-Placed", ""])
def test_event_types_must_be_pascal_case(name):
    with pytest.raises(DescriptionError, match="must be PascalCase"):
        EventRoute("probe-fanout", (name,))


def test_an_event_route_without_events_is_refused():
    with pytest.raises(DescriptionError, match="names no event types"):
        EventRoute("probe-fanout", ())


def test_the_event_routes_variable_is_reserved():
    with pytest.raises(DescriptionError, match="BAZAAR_EVENT_ROUTES is reserved"):
        _function(environment={"BAZAAR_EVENT_ROUTES": "{}"})




def test_a_dispatcher_gets_its_routes_and_queue_urls_in_its_environment():
    dispatcher = _function(
        stream_triggers=(_trigger(),),
        sends_to=("probe-fanout",),
        event_routes=(EventRoute("probe-fanout", ("OrderPlaced", "OrderCancelled")),),
    )
    env = _with(dispatcher).function_environment(dispatcher, PlaceholderNames())
    assert env["BAZAAR_EVENT_ROUTES"] == '{"probe-fanout":["OrderPlaced","OrderCancelled"]}'
    assert json.loads(env["BAZAAR_EVENT_ROUTES"]) == {"probe-fanout": ["OrderPlaced", "OrderCancelled"]}
    assert env["BAZAAR_QUEUE_PROBE_FANOUT"] == PlaceholderNames().queue_url("probe-fanout")
    assert "BAZAAR_EVENT_ROUTES" not in _with(dispatcher).function_environment(CONSUMER, PlaceholderNames())


def test_every_on_failure_queue_gets_a_depth_alarm_once():
    readers = [_function(f"probe-reader-{i}", stream_triggers=(_trigger(),)) for i in range(2)]
    alarms = [a for a in _with(*readers).all_alarms if a.name == "probe-failed-depth"]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert (alarm.queue, alarm.metric, alarm.statistic, alarm.threshold, alarm.comparison, alarm.period_seconds) == (
        "probe-failed", "ApproximateNumberOfMessagesVisible", "Maximum", 1, ">=", 60,
    )
    assert "probe-failed-depth" not in {a.name for a in _with().all_alarms}
