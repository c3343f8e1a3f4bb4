"""Feature flags, health and diagnostics over HTTP, on a stack of their own (functions cache the
flag document 5 s here, so a changed flag shows within seconds): a flag changed in the local
store changes a shopper's checkout; diagnostics lists the flags and the stock cleanup's status;
an unreachable provider leaves /health degraded and answering 200."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from infra.description import SERVICE
from infra.description.model import FeatureFlag
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer, get, login
from tests.shop import checkout, create_product, new_account_token

HOLD = "hold_stock_for_payment_timeout"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("flags-state"), flags_max_age_seconds=5))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(stack) -> str:
    return login(stack.url, **stack.accounts["admin"])["access_token"]


def _hold_minutes(response) -> float:
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    held = datetime.fromisoformat(order["lock_expires_at"]) - datetime.fromisoformat(order["created_at"])
    return held / timedelta(minutes=1)


def _publish(stack, document: dict) -> None:
    """What an operator does in AppConfig (the twin deploys every hosted version at once)."""
    application, _, profile = stack.names.flags_identifiers()
    stack.client("appconfig").create_hosted_configuration_version(
        ApplicationId=application, ConfigurationProfileId=profile, Content=json.dumps(document).encode(),
        ContentType="application/json")


def test_changing_the_flag_in_the_store_changes_a_shoppers_stock_hold(stack):
    seller, _ = new_account_token(stack, "seller")
    shopper, _ = new_account_token(stack, "customer")
    product = create_product(stack.url, seller, [50], price_paise=19900)
    standard = int(SERVICE.settings["STOCK_LOCK_EXPIRY_MINUTES"])
    # Given the described document: this shopper is outside the 10% rollout or inside; either way
    # everyone is in once the rollout is 100%, and out at 0%.
    _publish(stack, {**SERVICE.feature_flags.document,
                     HOLD: FeatureFlag(HOLD, "everyone out", False).document})
    deadline = time.monotonic() + 20
    while _hold_minutes(checkout(stack.url, shopper, [(product, 0, 1)])) != standard:
        assert time.monotonic() < deadline, "the 0% document never reached checkout"
        time.sleep(1)

    _publish(stack, {**SERVICE.feature_flags.document,
                     HOLD: FeatureFlag(HOLD, "everyone in", False, rollout_percent=100).document})

    payment_life = int(SERVICE.function("checkout-api").environment["PHONEPE_PAYMENT_TIMEOUT_SECONDS"]) / 60
    deadline = time.monotonic() + 20
    while (held := _hold_minutes(checkout(stack.url, shopper, [(product, 0, 1)]))) != payment_life:
        assert held == standard and time.monotonic() < deadline, "the 100% document never reached checkout"
        time.sleep(1)


def test_diagnostics_list_the_flags_and_the_stock_cleanups_status(stack, admin):
    _publish(stack, SERVICE.feature_flags.document)
    time.sleep(6)  # past the functions' cache age
    stack.scheduler.run_now("stock-cleanup")
    body = get(f"{stack.url}/v1/admin/diagnostics", headers=bearer(admin)).json()

    flags = {f["name"]: f for f in body["feature_flags"]["flags"]}
    assert body["feature_flags"]["readable"] is True
    assert set(flags) == {f.name for f in SERVICE.feature_flags.flags}
    assert flags["phonepe_api_version"]["default"] == flags["phonepe_api_version"]["value"] == "v2"
    rollout = flags[HOLD]["rules"]["rollout-10-percent"]["conditions"][0]
    assert rollout["action"] == "MODULO_RANGE" and rollout["value"] == {"BASE": 100, "START": 0, "END": 9}
    assert flags[HOLD]["value"] in (True, False)
    cleanup = body["stock_cleanup"]
    assert cleanup["last_outcome"] == "succeeded" and cleanup["last_error"] is None and cleanup["late"] is False
    interval = timedelta(minutes=int(SERVICE.settings["STOCK_CLEANUP_INTERVAL_MINUTES"]))
    assert datetime.fromisoformat(cleanup["next_run_at"]) == datetime.fromisoformat(cleanup["last_run_at"]) + interval


def test_an_unreachable_provider_leaves_health_degraded_and_serving(stack):
    healthy = get(f"{stack.url}/health")
    assert healthy.status_code == 200, healthy.text
    assert {d["name"]: d["status"] for d in healthy.json()["dependencies"]} == {
        "dynamodb": "ok", "secretsmanager": "ok", "phonepe": "ok", "shiprocket": "ok", "razorpayx": "ok"}

    stack.sandbox("shiprocket").stop()  # the last test of this module's stack

    answer = get(f"{stack.url}/health")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    statuses = {d["name"]: (d["kind"], d["status"]) for d in body["dependencies"]}
    assert body["status"] == "degraded"
    assert statuses["shiprocket"] == ("provider", "degraded") and statuses["dynamodb"] == ("core", "ok")
    assert "127.0.0.1" not in answer.text  # the problem names a kind of failure, never an address
