"""Publishing and replay through the real adapters: DynamoDB in moto, posts over HTTP to an
`@connections` endpoint in miniature. A shopper's order reaches that shopper's connections and
the admins' and nobody else's; a redelivery journals and posts nothing; a gone connection's
record is deleted while the others get the frame; a throttled connection is retried alone; a
replay posts the missed frames in order; a bad frame closes the connection."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.orders.events import EventLine, OrderEvent, OrderEventType, event_id_for
from bazaar.realtime import services
from bazaar.realtime.adapters.apigateway import ApiGatewayPusher, management_client
from bazaar.realtime.adapters.dynamodb import DynamoDbConnections, DynamoDbJournal
from bazaar.realtime.services import NotAllPosted, Realtime
from tests.integration.realtime_support import connections_endpoint, realtime_tables

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
CUSTOMER, ADMIN = frozenset({"customer"}), frozenset({"admin"})


@pytest.fixture(scope="module")
def moto():
    with realtime_tables() as running:
        yield running


@pytest.fixture(scope="module")
def endpoint():
    with connections_endpoint() as running:
        yield running


@pytest.fixture
def kit(moto, endpoint, monkeypatch) -> Realtime:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    endpoint.clear()
    server, names = moto
    dynamodb = server.client("dynamodb")
    return Realtime(
        connections=DynamoDbConnections(dynamodb, names.table_name("connections")),
        journal=DynamoDbJournal(dynamodb, names.table_name("realtime-journal")),
        pusher=ApiGatewayPusher(management_client(endpoint.url)),
        clock=lambda: AT, replay_limit=200, journal_retention=timedelta(days=3),
    )


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def order_event(order: str, customer: str, version: int, minutes: int = 0) -> OrderEvent:
    return OrderEvent(
        event_id=event_id_for(order, version), event_type=OrderEventType.SHIPPED, order_id=order,
        customer_id=customer, actor="provider:shiprocket", occurred_at=AT + timedelta(minutes=minutes),
        order_version=version, from_status="SHIPMENT_CREATED", to_status="SHIPPED", reason="", total_paise=49_800,
        lines=(EventLine("prd_1", "var_1", "usr_seller", "SKU-1", 2, 24_900, 49_800),),
    )


def connect(kit: Realtime, user: str, roles: frozenset[str]) -> str:
    connection_id = _id("conn")
    services.connect(user, roles, connection_id, AT - timedelta(minutes=1), kit)
    return connection_id


def test_an_order_reaches_its_shopper_and_the_admins_once_however_often_it_is_delivered(kit, endpoint):
    asha, bilal = _id("usr"), _id("usr")
    c_asha, c_bilal, c_admin = connect(kit, asha, CUSTOMER), connect(kit, bilal, CUSTOMER), connect(kit, _id("usr"), ADMIN)
    event = order_event(_id("ord"), asha, 4)

    services.publish_body(event.to_json(), kit)
    again = services.publish_body(event.to_json(), kit)

    assert [f["event_id"] for f in endpoint.sent_to(c_asha)] == [event.event_id]
    assert endpoint.sent_to(c_bilal) == []
    assert [f["order_id"] for f in endpoint.sent_to(c_admin) if f["event_id"] == event.event_id] == [event.order_id]
    assert (again.journaled, again.posted) == (0, 0)


def test_a_gone_connection_is_deleted_and_the_others_still_get_the_frame(kit, endpoint):
    asha = _id("usr")
    c_old, c_new = connect(kit, asha, CUSTOMER), connect(kit, asha, CUSTOMER)
    endpoint.gone.add(c_old)

    outcome = services.publish(order_event(_id("ord"), asha, 4), kit)

    assert outcome.gone == 1 and kit.connections.get(c_old) is None and kit.connections.get(c_new) is not None
    assert len(endpoint.sent_to(c_new)) == 1


def test_a_throttled_connection_is_retried_alone(kit, endpoint):
    asha = _id("usr")
    c_ok, c_busy = connect(kit, asha, CUSTOMER), connect(kit, asha, CUSTOMER)
    endpoint.throttled.add(c_busy)
    event = order_event(_id("ord"), asha, 4)

    with pytest.raises(NotAllPosted):
        services.publish(event, kit)
    endpoint.throttled.clear()
    services.publish(event, kit)
    services.publish(event, kit)

    assert len(endpoint.sent_to(c_ok)) == 1 and len(endpoint.sent_to(c_busy)) == 1


def test_a_replay_posts_the_missed_frames_in_order_then_done(kit, endpoint):
    asha, order = _id("usr"), _id("ord")
    events = [order_event(order, asha, version, minutes=version) for version in range(1, 5)]
    for event in reversed(events):
        services.publish(event, kit)
    c_asha = connect(kit, asha, CUSTOMER)

    services.handle_frame(c_asha, json.dumps({"action": "replay", "since": events[0].event_id}), kit)

    frames = endpoint.sent_to(c_asha)
    assert [f.get("event_id") for f in frames[:-1]] == [e.event_id for e in events[1:]]
    assert frames[-1] == {"type": "replay.done", "count": 3}


def test_a_bad_frame_gets_an_error_and_the_connection_is_closed_and_forgotten(kit, endpoint):
    c_asha = connect(kit, _id("usr"), CUSTOMER)

    services.handle_frame(c_asha, '{"action": "subscribe"}', kit)

    [frame] = endpoint.sent_to(c_asha)
    assert frame["type"] == "error" and frame["error"]["code"] == "VALIDATION_FAILED"
    assert ("DELETE", f"/local/@connections/{c_asha}") in [(m, p) for m, p, _ in endpoint.requests]
    assert kit.connections.get(c_asha) is None
