"""The realtime context over fakes: who receives which frame (a shopper never another's order,
admins every order and the operational events), publishing once per event id however often it
is delivered, a gone client removed while the others still get the frame, replay since an event
id (order, bound, an unknown id), and a bad client frame answered with one error and a close."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from bazaar.orders.events import EventLine, OrderEvent, OrderEventType, event_id_for
from bazaar.payouts.events import PayoutEvent, PayoutEventType, payout_event_id
from bazaar.platform.settings import UndeclaredResourceError, load_settings
from bazaar.realtime import domain, services
from bazaar.realtime.domain import ADMINS, FrameType, user_audience
from bazaar.realtime.schemas import MAX_CLIENT_FRAME_BYTES, connect_request, connection_id_of, message_body
from bazaar.realtime.services import NotAllPosted
from bazaar.realtime.settings import RealtimeSettings
from bazaar.refunds.domain import RefundStatus
from bazaar.refunds.events import RefundEvent, RefundEventType, refund_event_id

from tests.unit.realtime_fakes import NOW, realtime_kit

SHOPPER, OTHER_SHOPPER, ADMIN = "usr_asha", "usr_bilal", "usr_admin"


def order_event(order: str = "ord_1", customer: str = SHOPPER, version: int = 2,
                kind: OrderEventType = OrderEventType.ORDER_PAID, to_status: str = "PAID",
                minutes: int = 0) -> OrderEvent:
    return OrderEvent(
        event_id=event_id_for(order, version), event_type=kind, order_id=order, customer_id=customer,
        actor="provider:phonepe", occurred_at=NOW + timedelta(minutes=minutes), order_version=version,
        from_status="PAYMENT_PENDING", to_status=to_status, reason="", total_paise=49_800,
        lines=(EventLine("prd_1", "var_1", "usr_seller", "SKU-1", 2, 24_900, 49_800),),
    )


def payout_failed() -> PayoutEvent:
    return PayoutEvent(event_id=payout_event_id("pay_1", 3), event_type=PayoutEventType.PAYOUT_FAILED,
                       payee_id="usr_seller", payee_role="seller", amount_paise=120_000, occurred_at=NOW,
                       subject_id="pay_1", sequence=3, reason="beneficiary bank down")


def refund_opened(status: str) -> RefundEvent:
    return RefundEvent(event_id=refund_event_id("rfd_1", 1), event_type=RefundEventType.REFUND_REQUEST_OPENED,
                       refund_id="rfd_1", order_id="ord_1", customer_id=SHOPPER, amount_paise=80_000,
                       status=status, occurred_at=NOW, version=1, reason="DAMAGED")


def frames(pusher, connection_id: str) -> list[dict]:
    return [json.loads(data) for data in pusher.to(connection_id)]


def connected(kit, *who: tuple[str, str, frozenset[str]]) -> None:
    for connection_id, user, roles in who:
        services.connect(user, roles, connection_id, NOW - timedelta(minutes=5), kit)


CUSTOMER = frozenset({"customer"})
ADMIN_ROLES = frozenset({"admin"})


# -- audiences ---------------------------------------------------------------------------------


def test_a_shopper_gets_only_their_own_orders_and_admins_get_every_order():
    kit, _, _, pusher = realtime_kit()
    connected(kit, ("c-asha", SHOPPER, CUSTOMER), ("c-bilal", OTHER_SHOPPER, CUSTOMER),
              ("c-admin", ADMIN, ADMIN_ROLES))

    services.publish(order_event("ord_1", SHOPPER), kit)
    services.publish(order_event("ord_2", OTHER_SHOPPER), kit)

    assert [f["order_id"] for f in frames(pusher, "c-asha")] == ["ord_1"]
    assert [f["order_id"] for f in frames(pusher, "c-bilal")] == ["ord_2"]
    assert [f["order_id"] for f in frames(pusher, "c-admin")] == ["ord_1", "ord_2"]
    [asha] = frames(pusher, "c-asha")
    assert asha == {"type": "order.updated", "event_id": "evt_1_000002", "event_type": "OrderPaid",
                    "order_id": "ord_1", "status": "PAID", "previous_status": "PAYMENT_PENDING",
                    "occurred_at": "2026-12-02T09:30:00.000Z"}


def test_a_shopper_frame_names_no_seller_actor_or_amount():
    [(_, frame)] = [d for d in domain.frames_for(order_event()) if d[0] == user_audience(SHOPPER)]
    text = json.dumps(frame.body())
    assert "usr_seller" not in text and "phonepe" not in text and "49800" not in text and SHOPPER not in text


def test_operational_events_go_to_admins_only():
    kit, _, _, pusher = realtime_kit()
    connected(kit, ("c-asha", SHOPPER, CUSTOMER), ("c-seller", "usr_seller", frozenset({"seller"})),
              ("c-admin", ADMIN, ADMIN_ROLES))

    services.publish(payout_failed(), kit)
    services.publish(refund_opened(RefundStatus.REQUESTED.value), kit)
    services.publish(refund_opened_approved := refund_opened(RefundStatus.APPROVED.value), kit)  # the policy approved it

    assert frames(pusher, "c-asha") == [] and frames(pusher, "c-seller") == []
    assert [f["type"] for f in frames(pusher, "c-admin")] == ["ops.payout_failed", "ops.refund_awaiting_approval"]
    assert frames(pusher, "c-admin")[0]["amount_paise"] == 120_000
    assert domain.frames_for(refund_opened_approved) == ()


def test_a_failed_shipment_is_an_ops_frame_for_admins_and_a_status_change_for_its_shopper():
    kit, _, _, pusher = realtime_kit()
    connected(kit, ("c-asha", SHOPPER, CUSTOMER), ("c-admin", ADMIN, ADMIN_ROLES))
    failed = order_event(kind=OrderEventType.SHIPMENT_FAILED, to_status="SHIPMENT_FAILED", version=3)

    services.publish(failed, kit)

    assert [(f["type"], f["status"]) for f in frames(pusher, "c-asha")] == [("order.updated", "SHIPMENT_FAILED")]
    [ops] = frames(pusher, "c-admin")
    assert (ops["type"], ops["customer_id"]) == ("ops.shipment_failed", SHOPPER)


def test_an_admin_who_ordered_gets_each_event_once_as_the_admin_frame():
    kit, _, _, pusher = realtime_kit()
    connected(kit, ("c-admin", ADMIN, ADMIN_ROLES))

    services.publish(order_event(kind=OrderEventType.SHIPMENT_FAILED, to_status="SHIPMENT_FAILED", customer=ADMIN),
                     kit)

    assert [f["type"] for f in frames(pusher, "c-admin")] == ["ops.shipment_failed"]


def test_every_order_event_type_is_a_live_update():
    assert {t.value for t in OrderEventType} | {"PayoutFailed", "RefundRequestOpened"} == \
        set(domain.live_event_types())
    assert domain.audiences_of("usr_x", frozenset({"admin", "customer"})) == (ADMINS, "user:usr_x")
    assert domain.audiences_of("usr_x", frozenset({"seller"})) == ("user:usr_x",)


def test_the_queue_body_of_each_kind_is_read_as_its_event():
    assert isinstance(domain.parse_event(order_event().to_json()), OrderEvent)
    assert isinstance(domain.parse_event(payout_failed().to_json()), PayoutEvent)
    assert isinstance(domain.parse_event(refund_opened(RefundStatus.REQUESTED.value).to_json()), RefundEvent)
    with pytest.raises((ValueError, KeyError)):
        domain.parse_event('{"event_type": "OrderPaid"}')


# -- publishing once ---------------------------------------------------------------------------


def test_a_redelivered_event_journals_nothing_new_and_posts_nothing():
    kit, _, journal, pusher = realtime_kit()
    connected(kit, ("c-asha", SHOPPER, CUSTOMER), ("c-admin", ADMIN, ADMIN_ROLES))
    event = order_event()

    first = services.publish(event, kit)
    again = services.publish_body(event.to_json(), kit)

    assert (first.journaled, first.posted) == (2, 2)
    assert (again.journaled, again.posted) == (0, 0)
    assert journal.writes == 2 and len(pusher.posted) == 2


def test_a_gone_client_is_removed_and_the_others_still_get_the_frame():
    kit, connections, _, pusher = realtime_kit()
    connected(kit, ("c-old", SHOPPER, CUSTOMER), ("c-new", SHOPPER, CUSTOMER), ("c-admin", ADMIN, ADMIN_ROLES))
    pusher.gone.add("c-old")

    outcome = services.publish(order_event(), kit)

    assert outcome.gone == 1 and connections.get("c-old") is None
    assert len(frames(pusher, "c-new")) == 1 and len(frames(pusher, "c-admin")) == 1


def test_a_failed_post_is_retried_only_to_the_connections_not_reached():
    kit, _, journal, pusher = realtime_kit()
    connected(kit, ("c-asha", SHOPPER, CUSTOMER), ("c-flaky", SHOPPER, CUSTOMER), ("c-admin", ADMIN, ADMIN_ROLES))
    pusher.failures_left["c-flaky"] = 1
    event = order_event()

    with pytest.raises(NotAllPosted):
        services.publish(event, kit)  # the SQS message is retried
    retried = services.publish(event, kit)

    assert (retried.journaled, retried.posted, retried.failed) == (0, 1, 0)
    assert [len(pusher.to(c)) for c in ("c-asha", "c-flaky", "c-admin")] == [1, 1, 1]
    assert all(e.complete for e in journal.entries.values())
    assert services.publish(event, kit).posted == 0


def test_journal_entries_expire_after_the_retention():
    kit, _, journal, _ = realtime_kit()
    services.publish(order_event(), kit)
    assert set(journal.expiry.values()) == {NOW + timedelta(days=3)}


def test_a_connection_record_expires_with_api_gateways_two_hour_limit():
    kit, connections, _, _ = realtime_kit()
    services.connect(SHOPPER, CUSTOMER, "c-asha", NOW, kit)
    assert connections.expiry["c-asha"] == NOW + timedelta(hours=2)
    services.disconnect("c-asha", kit)
    services.disconnect("c-asha", kit)  # API Gateway may say it twice
    assert connections.get("c-asha") is None


# -- replay ------------------------------------------------------------------------------------


def _history(kit, count: int) -> list[OrderEvent]:
    events = [order_event("ord_1", SHOPPER, version=n + 1, minutes=n) for n in range(count)]
    for event in reversed(events):  # published out of order: the journal orders them
        services.publish(event, kit)
    return events


def test_a_replay_posts_every_missed_frame_oldest_first_then_done():
    kit, _, _, pusher = realtime_kit()
    events = _history(kit, 5)
    services.publish(order_event("ord_9", OTHER_SHOPPER, version=2, minutes=3), kit)  # not hers
    connected(kit, ("c-asha", SHOPPER, CUSTOMER))

    assert services.handle_frame("c-asha", json.dumps({"action": "replay", "since": events[1].event_id}), kit) \
        == "replayed 3"

    got = frames(pusher, "c-asha")
    assert [f.get("event_id") for f in got[:-1]] == [e.event_id for e in events[2:]]
    assert got[-1] == {"type": "replay.done", "count": 3}


def test_an_admin_replay_merges_both_audiences_once_per_event():
    kit, _, _, pusher = realtime_kit()
    services.publish(order_event("ord_1", ADMIN, version=1, minutes=0), kit)
    services.publish(order_event("ord_2", OTHER_SHOPPER, version=1, minutes=1), kit)
    services.publish(order_event("ord_3", ADMIN, version=1, minutes=2), kit)
    connected(kit, ("c-admin", ADMIN, ADMIN_ROLES))

    services.handle_frame("c-admin", json.dumps({"action": "replay", "since": event_id_for("ord_1", 1)}), kit)

    assert [f.get("order_id") for f in frames(pusher, "c-admin")] == ["ord_2", "ord_3", None]


def test_a_replay_is_bounded_and_says_where_to_go_on():
    kit, _, _, pusher = realtime_kit(replay_limit=3)
    events = _history(kit, 8)
    connected(kit, ("c-asha", SHOPPER, CUSTOMER))

    services.handle_frame("c-asha", json.dumps({"action": "replay", "since": events[0].event_id}), kit)

    got = frames(pusher, "c-asha")
    assert [f.get("event_id") for f in got[:3]] == [e.event_id for e in events[1:4]]
    assert got[3] == {"type": "replay.truncated", "count": 3, "next_since": events[3].event_id}
    pusher.posted.clear()
    services.handle_frame("c-asha", json.dumps({"action": "replay", "since": got[3]["next_since"]}), kit)
    assert [f.get("event_id") for f in frames(pusher, "c-asha")[:3]] == [e.event_id for e in events[4:7]]


@pytest.mark.parametrize("since", ["evt_never_000001", event_id_for("ord_9", 2)])
def test_an_unknown_or_somebody_elses_event_id_is_a_clear_frame_and_leaks_nothing(since):
    kit, connections, _, pusher = realtime_kit()
    services.publish(order_event("ord_9", OTHER_SHOPPER, version=2), kit)
    services.publish(order_event("ord_9", OTHER_SHOPPER, version=3, minutes=1), kit)
    connected(kit, ("c-asha", SHOPPER, CUSTOMER))

    assert services.handle_frame("c-asha", json.dumps({"action": "replay", "since": since}), kit) == \
        "replay unavailable"

    [frame] = frames(pusher, "c-asha")
    assert frame["type"] == "replay.unavailable" and frame["since"] == since
    assert connections.get("c-asha") is not None  # a well-formed request: the connection stays


# -- client frames -----------------------------------------------------------------------------


def test_a_ping_is_answered_with_a_pong():
    kit, _, _, pusher = realtime_kit()
    connected(kit, ("c-asha", SHOPPER, CUSTOMER))
    assert services.handle_frame("c-asha", '{"action":"ping"}', kit) == "pong"
    assert frames(pusher, "c-asha") == [{"type": "pong"}]


@pytest.mark.parametrize(("body", "says"), [
    ("not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"action": "subscribe", "audience": "admins"}', "Unknown action"),
    ('{"action": "replay"}', "since"),
    ('{"action": "replay", "since": "DROP TABLE"}', "since"),
    ('{"action": "ping", "extra": 1}', "extra"),
    (None, "not valid JSON"),
    ('{"action": "ping", "pad": "' + "x" * MAX_CLIENT_FRAME_BYTES + '"}', "at most"),
])
def test_a_bad_frame_gets_one_error_frame_and_the_connection_is_closed(body, says):
    kit, connections, _, pusher = realtime_kit()
    connected(kit, ("c-asha", SHOPPER, CUSTOMER))

    assert services.handle_frame("c-asha", body, kit) == "invalid frame: connection closed"

    [frame] = frames(pusher, "c-asha")
    assert frame["type"] == FrameType.ERROR.value and frame["error"]["code"] == "VALIDATION_FAILED"
    assert says in frame["error"]["message"]
    assert pusher.closed == ["c-asha"] and connections.get("c-asha") is None


def test_a_frame_from_an_unknown_connection_closes_it():
    kit, _, _, pusher = realtime_kit()
    assert services.handle_frame("c-ghost", '{"action":"ping"}', kit) == "unknown connection closed"
    assert frames(pusher, "c-ghost")[0]["error"]["code"] == "UNAUTHORIZED" and pusher.closed == ["c-ghost"]


# -- the WebSocket events and settings ---------------------------------------------------------


def test_a_connect_event_is_read_from_the_authorizers_context():
    request = connect_request({"requestContext": {
        "eventType": "CONNECT", "connectionId": "Lx3=", "connectedAt": 1_764_667_800_000,
        "authorizer": {"principalId": "usr_admin", "user_id": "usr_admin", "roles": "admin, customer"},
    }})
    assert (request.connection_id, request.user_id, request.roles) == ("Lx3=", "usr_admin",
                                                                      frozenset({"admin", "customer"}))
    assert request.connected_at.timestamp() == 1_764_667_800


@pytest.mark.parametrize("event", [
    {}, {"requestContext": {"connectionId": "Lx3=", "connectedAt": 1}},
    {"requestContext": {"connectionId": "", "authorizer": {"user_id": "usr_a", "roles": "customer"}}},
])
def test_a_connect_event_without_the_authorizers_context_is_refused(event):
    with pytest.raises(ValueError):
        connect_request(event)


def test_a_message_is_its_text_and_a_binary_frame_is_none():
    assert message_body({"body": '{"action":"ping"}'}) == '{"action":"ping"}'
    assert message_body({"body": "AAEC", "isBase64Encoded": True}) is None
    assert connection_id_of({"requestContext": {"connectionId": "Lx3="}}) == "Lx3="
    with pytest.raises(ValueError):
        connection_id_of({"requestContext": {}})


def test_the_realtime_settings_and_the_websocket_endpoint_are_read_from_the_environment():
    settings = load_settings({
        "BAZAAR_SERVICE": "bazaar", "BAZAAR_FUNCTION": "realtime-frames", "BAZAAR_VERSION": "0.1.0",
        "MAX_REQUEST_BODY_BYTES": "65536", "REALTIME_REPLAY_LIMIT": "200", "REALTIME_JOURNAL_RETENTION_DAYS": "3",
        "BAZAAR_WEBSOCKET_REALTIME_ENDPOINT": "https://ws.example/live",
    }, RealtimeSettings)
    assert settings.websocket_endpoint("realtime") == "https://ws.example/live"
    assert (settings.realtime_replay_limit, settings.realtime_journal_retention) == (200, timedelta(days=3))
    with pytest.raises(UndeclaredResourceError):
        settings.websocket_endpoint("dashboards")


def test_the_doc_names_every_frame_type_and_every_event_it_delivers():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "realtime.md").read_text()
    assert [t.value for t in FrameType if f"`{t.value}`" not in doc] == []
    assert [t for t in ("PayoutFailed", "ShipmentFailed", "RefundRequestOpened") if f"`{t}`" not in doc] == []
