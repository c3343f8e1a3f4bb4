"""Bursts at ten times the stage throttle's rate, with idle gaps between them, on a local stack
whose throttle is lowered (5 requests/s, bursts of 10) so that ten times it is affordable on a
small machine: shoppers race for a product with little stock. Nothing is oversold (the stock
balances and orders hold exactly the units locked), and every refused request is a 429 with the
envelope and Retry-After or a 409 saying why, never a 5xx."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import requests

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer
from tests.shop import ADDRESS, assert_balanced

pytestmark = pytest.mark.slow

RATE, BURST = 5, 10
BURSTS, PER_BURST, IDLE_SECONDS = 3, 10 * RATE, 2.5
STOCK, SHOPPERS = 4, 12


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    service = replace(SERVICE, api=replace(SERVICE.api, throttle_rate_per_second=RATE, throttle_burst=BURST))
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("burst-state")), service).start()
    yield running
    running.stop()


def patiently(send) -> requests.Response:
    """A set-up request that waits out the (low) stage throttle as a well-behaved client does."""
    for _ in range(50):
        answer = send()
        if answer.status_code != 429:
            return answer
        time.sleep(float(answer.headers["Retry-After"]))
    raise AssertionError("still throttled after 50 tries")


def signed_in(stack, role: str) -> str:
    email, password = f"{role}-{uuid.uuid4().hex[:10]}@test.bazaar.local", f"{uuid.uuid4().hex}aZ7!"
    stack.create_account(role, email, password)
    answer = patiently(lambda: requests.post(f"{stack.url}/v1/auth/login", json={"email": email, "password": password},
                                             timeout=30))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_bursts_over_the_throttle_oversell_nothing_and_are_refused_with_429s_not_5xx(stack):
    seller = signed_in(stack, "seller")
    listed = patiently(lambda: requests.post(f"{stack.url}/v1/seller/products", headers=bearer(seller), timeout=30, json={
        "title": f"Drop {uuid.uuid4().hex[:6]}", "description": "A limited drop.", "category": "phones",
        "variants": [{"sku": "DROP-1", "title": "Only colour", "price_paise": 99_900, "stock": STOCK}]}))
    assert listed.status_code == 201, listed.text
    product = listed.json()
    shoppers = [signed_in(stack, "customer") for _ in range(SHOPPERS)]
    variant = product["variants"][0]
    time.sleep(BURST / RATE)  # the bucket full again: the first burst meets the whole allowance

    answers: list[requests.Response] = []
    lock = threading.Lock()

    def one_checkout(n: int, start: threading.Barrier) -> None:
        body = {"items": [{"product_id": product["product_id"], "variant_id": variant["variant_id"], "quantity": 1}],
                "shipping_address": ADDRESS}
        start.wait()
        answer = requests.post(f"{stack.url}/v1/checkout", json=body, timeout=120,
                               headers={**bearer(shoppers[n % SHOPPERS]), "Idempotency-Key": uuid.uuid4().hex})
        with lock:
            answers.append(answer)

    with ThreadPoolExecutor(PER_BURST) as pool:
        for _ in range(BURSTS):
            start = threading.Barrier(PER_BURST)
            list(pool.map(lambda n, s=start: one_checkout(n, s), range(PER_BURST)))
            time.sleep(IDLE_SECONDS)

    statuses = [a.status_code for a in answers]
    assert len(statuses) == BURSTS * PER_BURST
    assert not [a.text for a in answers if a.status_code >= 500]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, "ten times the rate was never throttled"
    for answer in throttled:
        error = answer.json()["error"]
        assert error["code"] == "THROTTLED" and error["request_id"] == answer.headers["X-Request-Id"]
        assert int(answer.headers["Retry-After"]) >= 1
    placed = [a.json()["order"] for a in answers if a.status_code == 201]
    refused = {a.json()["error"]["code"] for a in answers if a.status_code == 409}
    assert set(statuses) <= {201, 409, 429}, statuses
    assert refused <= {"OUT_OF_STOCK", "LOCK_LIMIT_REACHED"}, refused
    # Each idle gap refills the bucket: every burst got some requests through.
    assert len(answers) - len(throttled) >= BURSTS * BURST // 2
    level = assert_balanced(stack, variant["variant_id"])
    assert len(placed) == level["locked"] + level["sold"] <= STOCK, (len(placed), level)
    assert len(placed) == STOCK  # many more asked than there was: all of it went, and no more
