"""The realtime context's description (infra/description/contexts/realtime.py) agrees with its
code: the worker's queue takes exactly the events the domain delivers, the dispatcher routes
them there, the tables have the keys the adapters (and their integration test) use, and only
the functions that post say pushes_to.

The module is written against the WebSocket API vocabulary (`WebSocketApi`,
`Function.pushes_to`); until that vocabulary is in the tree these tests are skipped, saying
why, and from then on they run."""

from __future__ import annotations

import pytest

from bazaar.realtime.domain import live_event_types
from infra.description import model

pytestmark = pytest.mark.skipif(not hasattr(model, "WebSocketApi"),
                                reason="the WebSocket API vocabulary (model.WebSocketApi) is not in this tree yet")


@pytest.fixture(scope="module")
def realtime():
    from infra.description.contexts import realtime

    return realtime


def _shape(table):
    return (table.name, table.partition_key, table.sort_key, table.ttl_attribute,
            tuple((i.name, i.partition_key, i.sort_key) for i in table.indexes))


def test_the_worker_takes_exactly_the_events_the_domain_delivers(realtime):
    assert tuple(sorted(realtime.REALTIME_EVENTS)) == live_event_types()


def test_the_dispatcher_routes_them_to_the_realtime_queue_and_the_context_is_registered(realtime):
    from infra.description import SERVICE
    from infra.description.bazaar import CONTEXTS

    assert realtime in CONTEXTS
    dispatcher = SERVICE.function("orders-events-dispatcher")
    [route] = [r for r in dispatcher.event_routes if r.queue == "realtime-events"]
    assert set(route.events) == set(realtime.REALTIME_EVENTS) and "realtime-events" in dispatcher.sends_to
    assert SERVICE.consumer_of("realtime-events").name == "realtime-events-worker"


def test_the_tables_have_the_keys_the_adapters_use(realtime):
    from tests.integration.realtime_support import CONNECTIONS, JOURNAL

    assert [_shape(t) for t in realtime.TABLES] == [_shape(CONNECTIONS), _shape(JOURNAL)]


def test_only_the_functions_that_post_may_push_and_the_api_names_its_routes(realtime):
    pushing = {f.name: f.pushes_to for f in realtime.FUNCTIONS if f.pushes_to}
    assert pushing == {"realtime-frames": ("realtime",), "realtime-events-worker": ("realtime",)}
    [api] = realtime.WEBSOCKET_APIS
    assert (api.name, api.connect, api.disconnect, api.default, api.authorizer) == (
        "realtime", "realtime-connect", "realtime-disconnect", "realtime-frames", "identity-authorizer")
    assert api.roles == model.EVERY_ROLE
