"""Checkout and orders over HTTP: no oversell under concurrency, all-or-nothing carts, the lock
cap, idempotent retries, cancel, and who may see an order."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import bearer, get
from tests.shop import assert_balanced, checkout, create_product, new_account_token


@pytest.fixture(scope="module")
def seller_token(local_stack):
    return new_account_token(local_stack, "seller")[0]


@pytest.fixture
def customer(local_stack):
    return new_account_token(local_stack, "customer")


def test_checkout_locks_stock_and_answers_order_total_and_expiry(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [5, 5], price_paise=49900)
    response = checkout(api, customer[0], [(product, 0, 2), (product, 1, 1), (product, 0, 1)])

    assert response.status_code == 201, response.text
    body = response.json()
    order = body["order"]
    assert order["status"] == "PAYMENT_PENDING" and order["customer_id"] == customer[1]
    # Duplicate lines for one variant were merged before locking.
    assert [(i["variant_id"], i["quantity"]) for i in order["items"]] == [
        (product["variants"][0]["variant_id"], 3), (product["variants"][1]["variant_id"], 1)]
    assert body["total_paise"] == order["total_paise"] == 4 * 49900
    assert body["lock_expires_at"] == order["lock_expires_at"] and body["lock_expires_at"].endswith("Z")
    # The PhonePe payment is open under the order's own id; the shopper is sent to its pay page.
    assert body["payment"]["provider"] == "phonepe" and body["payment"]["merchant_order_id"] == order["order_id"]
    assert body["payment"]["redirect_url"].startswith(local_stack.sandbox("phonepe").url + "/pay/")
    assert assert_balanced(local_stack, product["variants"][0]["variant_id"])["locked"] == 3
    assert assert_balanced(local_stack, product["variants"][1]["variant_id"])["locked"] == 1


def test_thirty_shoppers_race_for_five_units_and_exactly_five_win(local_stack, api, seller_token):
    product = create_product(api, seller_token, [5])
    variant_id = product["variants"][0]["variant_id"]
    shoppers = [new_account_token(local_stack, "customer")[0] for _ in range(6)]
    start = threading.Barrier(30)

    def attempt(n: int) -> requests.Response:
        start.wait()
        return checkout(api, shoppers[n % 6], [(product, 0, 1)])

    with ThreadPoolExecutor(30) as pool:
        responses = list(pool.map(attempt, range(30)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 25, [r.text for r in responses if r.status_code not in (201, 409)]
    for refused in (r for r in responses if r.status_code == 409):
        error = refused.json()["error"]
        assert error["code"] == "OUT_OF_STOCK"
        assert variant_id in error["details"][0]["issue"]
    assert assert_balanced(local_stack, variant_id) == {"available": 0, "locked": 5, "sold": 0, "received": 5}


def test_cart_with_one_short_item_locks_nothing(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [5, 1, 0])
    variants = [v["variant_id"] for v in product["variants"]]

    response = checkout(api, customer[0], [(product, 0, 2), (product, 1, 2), (product, 2, 1)])

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "OUT_OF_STOCK"
    named = " ".join(d["issue"] for d in error["details"])
    assert variants[1] in named and variants[2] in named and variants[0] not in named
    assert assert_balanced(local_stack, variants[0]) == {"available": 5, "locked": 0, "sold": 0, "received": 5}
    assert assert_balanced(local_stack, variants[1])["locked"] == 0
    assert get(f"{api}/v1/orders", headers=bearer(customer[0])).json()["items"] == []


def test_one_customer_cannot_lock_past_the_cap(local_stack, api, seller_token, customer):
    cap = int(local_stack.service.settings["MAX_LOCKED_UNITS_PER_CUSTOMER"])
    product = create_product(api, seller_token, [cap * 3])
    first = checkout(api, customer[0], [(product, 0, cap - 1)])
    assert first.status_code == 201

    second = checkout(api, customer[0], [(product, 0, 2)])
    assert second.status_code == 409 and second.json()["error"]["code"] == "LOCK_LIMIT_REACHED"
    at_once = checkout(api, new_account_token(local_stack, "customer")[0], [(product, 0, cap + 1)])
    assert at_once.json()["error"]["code"] == "LOCK_LIMIT_REACHED"
    # Cancelling gives the room back.
    requests.post(f"{api}/v1/orders/{first.json()['order']['order_id']}/cancel", headers=bearer(customer[0]),
                  timeout=30)
    assert checkout(api, customer[0], [(product, 0, cap)]).status_code == 201
    assert_balanced(local_stack, product["variants"][0]["variant_id"])


def test_same_key_same_body_returns_the_same_order_once(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [3])
    key = uuid.uuid4().hex

    first = checkout(api, customer[0], [(product, 0, 2)], key=key)
    again = checkout(api, customer[0], [(product, 0, 2)], key=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert assert_balanced(local_stack, product["variants"][0]["variant_id"])["locked"] == 2


def test_same_key_other_body_is_422_and_changes_nothing(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [3])
    key = uuid.uuid4().hex
    assert checkout(api, customer[0], [(product, 0, 1)], key=key).status_code == 201

    reused = checkout(api, customer[0], [(product, 0, 2)], key=key)

    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert assert_balanced(local_stack, product["variants"][0]["variant_id"])["locked"] == 1


def test_keys_are_scoped_per_customer(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [3])
    key = uuid.uuid4().hex
    mine = checkout(api, customer[0], [(product, 0, 1)], key=key)
    theirs = checkout(api, new_account_token(local_stack, "customer")[0], [(product, 0, 1)], key=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["order"]["order_id"] != theirs.json()["order"]["order_id"]


def test_concurrent_requests_with_one_key_make_one_order(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [10])
    key = uuid.uuid4().hex
    start = threading.Barrier(6)

    def attempt(_):
        start.wait()
        return checkout(api, customer[0], [(product, 0, 1)], key=key)

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(attempt, range(6)))

    # Each either got the one order or was told the key is in use (409); none made a second one.
    assert {r.status_code for r in responses} <= {201, 409}
    assert len({r.json()["order"]["order_id"] for r in responses if r.status_code == 201}) == 1
    for busy in (r for r in responses if r.status_code == 409):
        assert busy.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert assert_balanced(local_stack, product["variants"][0]["variant_id"])["locked"] == 1


def test_idempotency_key_is_required(api, seller_token, customer):
    response = requests.post(f"{api}/v1/checkout", headers=bearer(customer[0]), json={}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"


def test_unknown_fields_and_unknown_variants_are_400(api, seller_token, customer):
    product = create_product(api, seller_token, [3])
    line = {"product_id": product["product_id"], "variant_id": product["variants"][0]["variant_id"], "quantity": 1}
    from tests.shop import ADDRESS

    for body in (
        {"items": [line], "shipping_address": ADDRESS, "total_paise": 1},
        {"items": [{**line, "unit_price_paise": 1}], "shipping_address": ADDRESS},
        {"items": [{**line, "variant_id": "var_01M83M28PERZB1Z8NB7KXDKX91"}], "shipping_address": ADDRESS},
    ):
        response = requests.post(f"{api}/v1/checkout", json=body, timeout=30,
                                 headers={**bearer(customer[0]), "Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 400, response.text


def test_customer_cancels_unpaid_order_and_stock_comes_back(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [4])
    variant_id = product["variants"][0]["variant_id"]
    order_id = checkout(api, customer[0], [(product, 0, 3)]).json()["order"]["order_id"]

    cancelled = requests.post(f"{api}/v1/orders/{order_id}/cancel", headers=bearer(customer[0]), timeout=30)
    again = requests.post(f"{api}/v1/orders/{order_id}/cancel", headers=bearer(customer[0]), timeout=30)

    assert cancelled.status_code == again.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    assert [(h["from_status"], h["to_status"]) for h in again.json()["history"]] == [
        (None, "PAYMENT_PENDING"), ("PAYMENT_PENDING", "CANCELLED")]
    assert assert_balanced(local_stack, variant_id) == {"available": 4, "locked": 0, "sold": 0, "received": 4}


def test_orders_are_visible_to_owner_and_admin_only(local_stack, api, seller_token, customer, tokens):
    product = create_product(api, seller_token, [2])
    order_id = checkout(api, customer[0], [(product, 0, 1)]).json()["order"]["order_id"]
    stranger = new_account_token(local_stack, "customer")[0]

    assert get(f"{api}/v1/orders/{order_id}", headers=bearer(customer[0])).status_code == 200
    assert get(f"{api}/v1/orders/{order_id}", headers=bearer(tokens("admin"))).status_code == 200
    assert get(f"{api}/v1/orders/{order_id}", headers=bearer(stranger)).status_code == 404
    assert requests.post(f"{api}/v1/orders/{order_id}/cancel", headers=bearer(stranger), timeout=30).status_code == 404
    assert get(f"{api}/v1/orders", headers=bearer(stranger)).json()["items"] == []
    assert get(f"{api}/v1/orders/{order_id}", headers=bearer(customer[0])).json()["status"] == "PAYMENT_PENDING"


def test_order_list_pages_and_refuses_tampered_cursor(local_stack, api, seller_token, customer):
    product = create_product(api, seller_token, [10])
    ids = [checkout(api, customer[0], [(product, 0, 1)]).json()["order"]["order_id"] for _ in range(3)]
    first = get(f"{api}/v1/orders?limit=2", headers=bearer(customer[0])).json()
    second = get(f"{api}/v1/orders?limit=2&cursor={first['next_cursor']}", headers=bearer(customer[0])).json()
    assert [o["order_id"] for o in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    exact = get(f"{api}/v1/orders?limit=3", headers=bearer(customer[0])).json()
    assert len(exact["items"]) == 3 and exact["next_cursor"] is None
    # Another customer's cursor is not valid on my list.
    other = new_account_token(local_stack, "customer")[0]
    assert get(f"{api}/v1/orders?cursor={first['next_cursor']}", headers=bearer(other)).status_code == 400


# -- the stock cleanup schedule, its manual trigger and its status -----------------------------


def test_schedule_and_admin_trigger_record_runs_and_the_next_time(api, tokens):
    from datetime import datetime, timedelta

    fired = requests.post(f"{api}/_local/schedules/stock-cleanup/run", timeout=60).json()
    assert fired["ok"], fired
    manual = requests.post(f"{api}/v1/admin/stock-cleanup", headers=bearer(tokens("admin")), timeout=60)
    assert manual.status_code == 200 and manual.json()["manual"] is True and manual.json()["errors"] == 0

    status = get(f"{api}/v1/admin/stock-cleanup", headers=bearer(tokens("admin"))).json()

    assert status["interval_seconds"] == 300
    assert status["runs"][0]["manual"] is True
    scheduled = next(r for r in status["runs"] if not r["manual"])
    assert set(scheduled) >= {"started_at", "duration_ms", "locks_released", "errors"}
    started = datetime.fromisoformat(scheduled["started_at"].replace("Z", "+00:00"))
    assert status["next_scheduled_at"] == (started + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for role in ("customer", "seller"):
        assert requests.post(f"{api}/v1/admin/stock-cleanup", headers=bearer(tokens(role)), timeout=30).status_code == 403


def test_diagnostics_count_held_locks(local_stack, api, seller_token, customer, tokens):
    product = create_product(api, seller_token, [2])
    checkout(api, customer[0], [(product, 0, 1)])
    locks = get(f"{api}/v1/admin/diagnostics", headers=bearer(tokens("admin"))).json()["stock_locks"]
    assert locks["active"] >= 1 and locks["expired_unreleased"] == 0


def test_local_twin_matches_the_description(local_stack):
    from infra.description import SERVICE
    from infra.local.inventory import local_inventory
    from infra.parity import describe, differences

    assert differences(describe(SERVICE.at_stage("dev")), local_inventory(local_stack), "local") == []
