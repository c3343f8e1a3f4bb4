"""Live order updates and the notifications that go with them, end to end over real protocols on
the local stack: a shopper who checks out and pays sees PAID, the shipment booked and the
delivery arrive on their WebSocket in order, in their email (moto's SES) and in their feed; a
second shopper sees none of it; an admin's socket sees all of it. A shopper who closed the tab
during payment finds the outcome in the feed and the mail, and the reconnecting dashboard asks
for what it missed since the last event id it saw. Connecting needs a live token; bad frames
close the socket with a reason and the API keeps serving."""

from __future__ import annotations

import json

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import bearer, get
from tests.live import LiveSocket
from tests.mailbox import sent_mail
from tests.paid_orders import PaidOrders
from tests.shop import Shopper
from tests.waiting import until

DELIVERY_SCANS = (("OUT FOR PICKUP", "SHIPPED"), ("IN TRANSIT", "IN_TRANSIT"),
                  ("OUT FOR DELIVERY", "OUT_FOR_DELIVERY"), ("DELIVERED", "DELIVERED"))


def _statuses(frames: list[dict]) -> list[str]:
    return [f["status"] for f in frames]


def _feed_kinds(api: str, token: str) -> list[str]:
    response = get(f"{api}/v1/me/notifications", headers=bearer(token), params={"limit": 100})
    assert response.status_code == 200, response.text
    return [entry["kind"] for entry in response.json()["items"]]


def _deliver(stack, paid: PaidOrders, order_id: str) -> None:
    """The shipment's scans walked one at a time, each applied before the next (as couriers scan)."""
    shiprocket = stack.sandbox("shiprocket").sandbox
    shipment_id = until(lambda: (paid.customer_view(order_id).get("shipment") or {}).get("shipment_id"), 90)
    for label, status in DELIVERY_SCANS:
        requests.post(f"{shiprocket.url}/_sandbox/shipments/{shipment_id}/advance", json={"to": label},
                      timeout=120).raise_for_status()
        assert until(lambda status=status: paid.customer_view(order_id)["status"] == status, 90), status


def test_a_paid_order_reaches_its_shopper_live_by_mail_and_in_the_feed_and_nobody_else(local_stack, tokens):
    api = local_stack.url
    asha, ravi = Shopper(local_stack, "Asha Rao"), Shopper(local_stack, "Ravi Kumar")
    with LiveSocket(local_stack, asha.token) as mine, LiveSocket(local_stack, ravi.token) as other, \
            LiveSocket(local_stack, tokens("admin")) as admin:
        paid = PaidOrders(local_stack, customer=(asha.token, asha.user_id))
        order_id = paid.new()["order_id"]
        _deliver(local_stack, paid, order_id)

        seen = mine.wait_for(lambda _: "DELIVERED" in _statuses(mine.order_frames(order_id)) and
                             mine.order_frames(order_id))
        statuses = _statuses(seen)  # type: ignore[arg-type]
        # In the order they happened, each once.
        assert [s for s in statuses if s in ("PAID", "SHIPMENT_CREATED", "DELIVERED")] == \
            ["PAID", "SHIPMENT_CREATED", "DELIVERED"]
        assert statuses.index("PAID") < statuses.index("SHIPPED") < statuses.index("DELIVERED")
        event_ids = [f["event_id"] for f in seen]  # type: ignore[union-attr]
        assert len(event_ids) == len(set(event_ids))

        admin.wait_for(lambda _: {f["event_id"] for f in admin.order_frames(order_id)} >= set(event_ids))
        other.send({"action": "ping"})
        other.wait_for(lambda frames: any(f["type"] == "pong" for f in frames))
        assert not [f for f in other.frames if f.get("order_id") == order_id]
        assert [f["type"] for f in other.frames] == ["pong"]

    # The same news by mail, in her name, and in her feed; nothing for the other shopper.
    mails = until(lambda: len(m := sent_mail(local_stack.aws_endpoint, asha.email)) >= 3 and m, 90)
    assert mails, sent_mail(local_stack.aws_endpoint, asha.email)
    subjects = " | ".join(m["subject"] for m in mails)
    for title in ("Payment received", "Shipment booked", "Order delivered"):
        assert title in subjects, subjects
    assert all("Asha Rao" in m["body"] for m in mails)
    assert {"order_paid", "order_shipment_booked", "order_delivered"} <= set(_feed_kinds(api, asha.token))
    assert sent_mail(local_stack.aws_endpoint, ravi.email) == []
    assert _feed_kinds(api, ravi.token) == []


def test_a_shopper_who_closed_the_tab_during_payment_finds_the_outcome_and_the_dashboard_catches_up(
        local_stack):
    api = local_stack.url
    meera = Shopper(local_stack, "Meera Iyer")
    paid = PaidOrders(local_stack, customer=(meera.token, meera.user_id))
    with LiveSocket(local_stack, meera.token) as before:
        order = paid.checkout()
        placed = before.wait_for(lambda _: before.order_frames(order["order_id"]))
    last_seen = placed[-1]["event_id"]  # type: ignore[index]

    # The tab is closed: the payment completes with nobody connected.
    paid.pay(order)
    assert until(lambda: "order_paid" in _feed_kinds(api, meera.token), 90)
    assert until(lambda: any("Payment received" in m["subject"]
                             for m in sent_mail(local_stack.aws_endpoint, meera.email)), 90)

    with LiveSocket(local_stack, meera.token) as after:
        after.send({"action": "replay", "since": last_seen})
        after.wait_for(lambda frames: any(f["type"] in ("replay.done", "replay.truncated") for f in frames))
        missed = after.order_frames(order["order_id"])
        assert "PAID" in _statuses(missed), after.frames
        assert last_seen not in [f["event_id"] for f in missed]


def test_connecting_needs_a_live_token(local_stack):
    url = local_stack.websocket_url("realtime")
    for attempt in (url, f"{url}?access_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"):
        with pytest.raises(InvalidStatus) as refused:
            connect(attempt, open_timeout=30)
        assert refused.value.response.status_code == 401
    leaving = Shopper(local_stack, "Anil Shah")
    with LiveSocket(local_stack, leaving.token):
        pass
    logout = requests.post(f"{local_stack.url}/v1/auth/logout", headers=bearer(leaving.token), timeout=30)
    assert logout.status_code == 204, logout.text
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{url}?access_token={leaving.token}", open_timeout=30)
    assert refused.value.response.status_code == 401


def test_bad_frames_close_the_socket_with_a_reason_and_the_api_keeps_serving(local_stack):
    kiran = Shopper(local_stack, "Kiran Das")
    with LiveSocket(local_stack, kiran.token) as malformed:
        malformed.send("this is not json")
        error = malformed.wait_for(lambda frames: [f for f in frames if f["type"] == "error"])
        assert error[0]["error"]["code"] == "VALIDATION_FAILED"  # type: ignore[index]
        assert malformed.close_code is not None
    with LiveSocket(local_stack, kiran.token) as oversized:
        oversized.send(json.dumps({"action": "ping", "pad": "x" * 64 * 1024}))
        assert oversized.close_code == 1009
    with LiveSocket(local_stack, kiran.token) as fine:
        fine.send({"action": "ping"})
        fine.wait_for(lambda frames: any(f["type"] == "pong" for f in frames))
