"""The Shiprocket sandbox answers in the shapes and by the rules of docs/providers/shiprocket.md:
plain HTTP, no Bazaar code in between."""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from infra.local.loopback import LoopbackServer
from tests.integration.conftest import PICKUP, SHIPROCKET_EMAIL, SHIPROCKET_PASSWORD


def login(shiprocket) -> dict:
    response = requests.post(f"{shiprocket.api}/auth/login",
                             json={"email": SHIPROCKET_EMAIL, "password": SHIPROCKET_PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def call(shiprocket, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{shiprocket.api}{path}", headers={"Authorization": f"Bearer {token}"},
                            timeout=10, **kwargs)


def adhoc(order_id: str = "ord_C1", **overrides) -> dict:
    body = {
        "order_id": order_id, "order_date": "2026-11-20 10:30", "pickup_location": PICKUP,
        "billing_customer_name": "Asha", "billing_last_name": "Rao", "billing_address": "12 MG Road",
        "billing_city": "Bengaluru", "billing_pincode": "560001", "billing_state": "Karnataka",
        "billing_country": "India", "billing_email": "asha@example.in", "billing_phone": "9876543210",
        "shipping_is_billing": True,
        "order_items": [{"name": "Mug", "sku": "MUG-1", "units": 2, "selling_price": "249.50", "discount": "0.00",
                         "tax": "0.00", "hsn": ""}],
        "payment_method": "Prepaid", "sub_total": "499.00", "length": 10, "breadth": 10, "height": 10,
        "weight": "0.500",
    }
    body.update(overrides)
    return body


@pytest.fixture
def token(shiprocket) -> str:
    return login(shiprocket)["token"]


def shipped(shiprocket, token, order_id="ord_C1") -> dict:
    created = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc(order_id)).json()
    awb = call(shiprocket, "POST", "/courier/assign/awb", token, json={"shipment_id": created["shipment_id"]}).json()
    pickup = call(shiprocket, "POST", "/courier/generate/pickup", token,
                  json={"shipment_id": [created["shipment_id"]]}).json()
    return {"created": created, "awb": awb, "pickup": pickup}


def test_login_returns_a_jwt_shaped_token_with_its_expiry(shiprocket):
    body = login(shiprocket)
    assert {"token", "id", "first_name", "last_name", "email", "company_id", "created_at"} <= set(body)
    _header, claims, _ = body["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert claims["exp"] - claims["iat"] == 240 * 3600


def test_bad_credentials_and_missing_or_expired_tokens_are_refused(shiprocket, token):
    bad = requests.post(f"{shiprocket.api}/auth/login", json={"email": SHIPROCKET_EMAIL, "password": "nope"}, timeout=10)
    assert bad.status_code == 400
    assert requests.get(f"{shiprocket.api}/orders", timeout=10).status_code == 401
    assert call(shiprocket, "GET", "/orders", "forged.token.value").json() == {"message": "Unauthenticated."}
    assert call(shiprocket, "GET", "/orders", token).status_code == 200
    shiprocket.post("tokens/expire")
    expired = call(shiprocket, "GET", "/orders", token)
    assert (expired.status_code, expired.json()) == (401, {"message": "Unauthenticated."})


def test_short_token_lifetime_is_configurable(shiprocket):
    shiprocket.post("config", {"token_lifetime_seconds": 0})
    assert call(shiprocket, "GET", "/orders", login(shiprocket)["token"]).status_code == 401


def test_adhoc_order_is_created_new_and_without_an_awb(shiprocket, token):
    response = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc())
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "NEW" and body["status_code"] == 1
    assert isinstance(body["order_id"], int) and isinstance(body["shipment_id"], int)
    assert body["awb_code"] is None and body["courier_name"] is None


def test_missing_or_invalid_fields_give_422_with_field_errors(shiprocket, token):
    body = adhoc()
    del body["billing_pincode"]
    body["order_items"] = "not a list"
    response = call(shiprocket, "POST", "/orders/create/adhoc", token, json=body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["message"] == "Oops! Invalid Data." and answer["status_code"] == 422
    assert {"billing_pincode", "order_items"} <= set(answer["errors"])
    long_city = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc(billing_city="X" * 31))
    assert long_city.status_code == 422 and "billing_city" in long_city.json()["errors"]
    wrong_pickup = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc(pickup_location="Nowhere"))
    assert wrong_pickup.status_code == 422 and "pickup_location" in wrong_pickup.json()["errors"]


def test_reusing_an_order_id_is_refused_even_after_a_cancel(shiprocket, token):
    first = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc("ord_DUP")).json()
    again = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc("ord_DUP"))
    assert again.status_code == 422 and "order_id" in again.json()["errors"]
    assert call(shiprocket, "POST", "/orders/cancel", token, json={"ids": [first["order_id"]]}).status_code == 200
    after_cancel = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc("ord_DUP"))
    assert after_cancel.status_code == 422
    assert len(shiprocket.state("ord_DUP")["orders"]) == 1


def test_pickup_before_awb_is_refused_and_awb_cannot_be_assigned_twice(shiprocket, token):
    created = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc()).json()
    sid = created["shipment_id"]
    early = call(shiprocket, "POST", "/courier/generate/pickup", token, json={"shipment_id": [sid]})
    assert early.status_code == 400
    not_array = call(shiprocket, "POST", "/courier/generate/pickup", token, json={"shipment_id": sid})
    assert not_array.status_code == 422
    awb = call(shiprocket, "POST", "/courier/assign/awb", token, json={"shipment_id": sid}).json()
    assert awb["awb_assign_status"] == 1
    data = awb["response"]["data"]
    assert data["awb_code"] and data["shipment_id"] == sid and data["order_id"] == created["order_id"]
    assert data["courier_name"] and data["pickup_scheduled_date"]
    twice = call(shiprocket, "POST", "/courier/assign/awb", token, json={"shipment_id": sid})
    assert (twice.status_code, twice.json()["message"]) == (400, "Cannot reassign courier")
    pickup = call(shiprocket, "POST", "/courier/generate/pickup", token, json={"shipment_id": [sid]}).json()
    assert pickup["pickup_status"] == 1
    assert pickup["response"]["pickup_scheduled_date"] and pickup["response"]["pickup_token_number"]
    assert "Pickup is confirmed" in pickup["response"]["data"]
    assert call(shiprocket, "POST", "/courier/generate/pickup", token, json={"shipment_id": [sid]}).status_code == 400
    unknown = call(shiprocket, "POST", "/courier/assign/awb", token, json={"shipment_id": 1})
    assert (unknown.status_code, unknown.json()["message"]) == (400, "Invalid shipment id")


def test_awb_failure_comes_in_a_200_body(shiprocket, token):
    created = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc()).json()
    shiprocket.post("awb-failures", {"count": 1, "message": "Insufficient balance in wallet."})
    failed = call(shiprocket, "POST", "/courier/assign/awb", token, json={"shipment_id": created["shipment_id"]})
    assert failed.status_code == 200
    assert failed.json()["awb_assign_status"] == 0 and "wallet" in failed.json()["message"]
    retried = call(shiprocket, "POST", "/courier/assign/awb", token, json={"shipment_id": created["shipment_id"]})
    assert retried.json()["awb_assign_status"] == 1


def test_orders_list_finds_an_order_by_its_channel_order_id(shiprocket, token):
    made = shipped(shiprocket, token, "ord_FIND")
    call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc("ord_OTHER"))
    rows = call(shiprocket, "GET", "/orders", token, params={"search": "ord_FIND"}).json()["data"]
    assert [r["channel_order_id"] for r in rows] == ["ord_FIND"]
    shipment = rows[0]["shipments"][0]
    assert rows[0]["id"] == made["created"]["order_id"] and rows[0]["status"] == "PICKUP SCHEDULED"
    assert shipment["awb"] == made["awb"]["response"]["data"]["awb_code"] and shipment["pickup_scheduled_date"]
    shown = call(shiprocket, "GET", f"/orders/show/{rows[0]['id']}", token).json()["data"]
    assert shown["channel_order_id"] == "ord_FIND"


def test_tracking_before_the_first_scan_says_track_status_0(shiprocket, token):
    made = shipped(shiprocket, token)
    awb = made["awb"]["response"]["data"]["awb_code"]
    data = call(shiprocket, "GET", f"/courier/track/awb/{awb}", token).json()["tracking_data"]
    assert data["track_status"] == 0 and data["error"]
    assert call(shiprocket, "GET", "/courier/track/awb/000", token).status_code == 404


def test_scan_engine_walks_forward_and_track_reports_it(shiprocket, token):
    made = shipped(shiprocket, token)
    sid, awb = made["created"]["shipment_id"], made["awb"]["response"]["data"]["awb_code"]
    walked = shiprocket.post(f"shipments/{sid}/advance", {"to": "DELIVERED"})
    assert walked["scans"] == ["OUT FOR PICKUP", "PICKED UP", "SHIPPED", "IN TRANSIT", "REACHED AT DESTINATION HUB",
                               "OUT FOR DELIVERY", "DELIVERED"]
    for path in (f"/courier/track/awb/{awb}", f"/courier/track/shipment/{sid}"):
        data = call(shiprocket, "GET", path, token).json()["tracking_data"]
        assert data["track_status"] == 1 and data["shipment_status"] == 7
        assert data["shipment_track"][0]["current_status"] == "DELIVERED"
        assert data["shipment_track"][0]["awb_code"] == awb
        latest = data["shipment_track_activities"][0]
        assert {"date", "status", "activity", "location", "sr-status", "sr-status-label"} <= set(latest)
        assert (latest["sr-status"], latest["sr-status-label"]) == ("7", "DELIVERED")
    beyond = requests.post(f"{shiprocket.url}/_sandbox/shipments/{sid}/advance", json={}, timeout=10)
    assert beyond.status_code == 409


def test_a_shipment_without_a_pickup_cannot_be_scanned(shiprocket, token):
    created = call(shiprocket, "POST", "/orders/create/adhoc", token, json=adhoc()).json()
    response = requests.post(f"{shiprocket.url}/_sandbox/shipments/{created['shipment_id']}/advance", json={},
                             timeout=10)
    assert response.status_code == 409


def test_cancel_after_pickup_scan_is_refused(shiprocket, token):
    made = shipped(shiprocket, token)
    shiprocket.post(f"shipments/{made['created']['shipment_id']}/advance", {"to": "PICKED UP"})
    refused = call(shiprocket, "POST", "/orders/cancel", token, json={"ids": [made["created"]["order_id"]]})
    assert refused.status_code == 400
    assert call(shiprocket, "POST", "/orders/cancel", token, json={}).status_code == 422


class _Receiver:
    """A webhook endpoint on 127.0.0.1 that records what Shiprocket's sandbox posts."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = LoopbackServer(Handler, name="shiprocket-receiver")
        self.url = f"{self._server.url}/hook"

    def __enter__(self):
        self._server.start()
        return self

    def __exit__(self, *exc):
        self._server.stop()


def test_each_scan_fires_a_webhook_with_x_api_key_and_the_documented_fields(shiprocket, token):
    made = shipped(shiprocket, token, "ord_HOOK")
    sid = made["created"]["shipment_id"]
    with _Receiver() as receiver:
        shiprocket.post("config", {"webhook_url": receiver.url, "webhook_api_key": "k" * 32})
        shiprocket.post(f"shipments/{sid}/advance", {"to": "IN TRANSIT"})
    assert len(receiver.received) == 4
    last = receiver.received[-1]
    assert last["headers"]["x-api-key"] == "k" * 32
    body = last["body"]
    assert body["awb"] == made["awb"]["response"]["data"]["awb_code"]
    assert body["order_id"] == "ord_HOOK" and body["sr_order_id"] == made["created"]["order_id"]
    # the two id schemes side by side, as in Shiprocket's sample
    assert (body["current_status"], body["current_status_id"]) == ("IN TRANSIT", 20)
    assert (body["shipment_status"], body["shipment_status_id"]) == ("IN TRANSIT", 18)
    assert len(body["current_timestamp"].split(" ")) == 4  # "dd mm yyyy HH:MM:SS"
    assert [s["sr-status-label"] for s in body["scans"]] == ["OUT FOR PICKUP", "PICKED UP", "SHIPPED", "IN TRANSIT"]
    assert body["is_return"] == 0 and "etd" in body and "courier_name" in body


def test_ndr_branch_then_duplicates_and_out_of_order_delivery(shiprocket, token):
    made = shipped(shiprocket, token)
    sid = made["created"]["shipment_id"]
    with _Receiver() as receiver:
        shiprocket.post("config", {"webhook_url": receiver.url, "webhook_api_key": "k" * 32, "hold_webhooks": True})
        walked = shiprocket.post(f"shipments/{sid}/advance", {"to": "RTO DELIVERED"})
        assert walked["scans"][-4:] == ["UNDELIVERED", "RTO INITIATED", "RTO IN TRANSIT", "RTO DELIVERED"]
        assert receiver.received == [] and shiprocket.state()["held"] == 10
        shiprocket.post("webhooks/release", {"order": "reverse", "duplicate": True})
        labels = [r["body"]["shipment_status"] for r in receiver.received]
        assert labels[:4] == ["RTO DELIVERED", "RTO DELIVERED", "RTO IN TRANSIT", "RTO IN TRANSIT"]
        assert len(labels) == 20
        shiprocket.post("config", {"hold_webhooks": False})
        shiprocket.post(f"shipments/{sid}/replay", {"index": 0})  # a very late OUT FOR PICKUP
        assert receiver.received[-1]["body"]["shipment_status"] == "OUT FOR PICKUP"
        shiprocket.post(f"shipments/{sid}/scans", {"label": "TELEPORTED"})
        odd = receiver.received[-1]["body"]
        assert odd["shipment_status"] == "TELEPORTED" and odd["scans"][-1]["sr-status"] == "NA"


def test_faults_fail_the_next_calls_then_stop(shiprocket, token):
    shiprocket.post("faults", {"kind": "5xx", "count": 2, "status": 503})
    shiprocket.post("faults", {"kind": "429", "count": 1, "path": "/orders"})
    assert call(shiprocket, "GET", "/orders", token).status_code == 503
    assert call(shiprocket, "GET", "/orders", token).status_code == 503
    limited = call(shiprocket, "GET", "/orders", token)
    assert limited.status_code == 429 and "retry-after" not in {k.lower() for k in limited.headers}
    assert call(shiprocket, "GET", "/orders", token).status_code == 200


def test_a_timeout_fault_can_still_take_effect(shiprocket, token):
    shiprocket.post("faults", {"kind": "timeout", "count": 1, "path": "/orders/create", "delay_seconds": 1.5,
                               "then": "process"})
    with pytest.raises(requests.Timeout):
        requests.post(f"{shiprocket.api}/orders/create/adhoc", json=adhoc("ord_SLOW"),
                      headers={"Authorization": f"Bearer {token}"}, timeout=0.5)
    # the order exists although its creator never heard back
    assert len(shiprocket.state("ord_SLOW")["orders"]) == 1
