"""The RazorpayX sandbox answers in the shapes and by the rules of docs/providers/razorpayx.md:
plain HTTP, no Bazaar code in between."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest
import requests

from tests.integration.razorpayx_support import (
    ACCOUNT_NUMBER,
    KEY_ID,
    WEBHOOK_SECRET,
    Control,
    ScriptedReceiver,
    running_sandbox,
    wait_until,
)


@pytest.fixture(scope="module")
def _razorpayx_sandbox():
    with running_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def razorpayx(_razorpayx_sandbox) -> Control:
    return Control(_razorpayx_sandbox).fresh()


def contact(razorpayx: Control, **overrides) -> requests.Response:
    body = {"name": "Asha Rao", "email": "asha@example.in", "type": "vendor", "reference_id": "usr_1", **overrides}
    return razorpayx.call("POST", "/contacts", json=body)


def bank_account(razorpayx: Control, contact_id: str, **overrides) -> requests.Response:
    account = {"name": "Asha Rao", "ifsc": "HDFC0001234", "account_number": "50100123456789", **overrides}
    return razorpayx.call("POST", "/fund_accounts",
                          json={"contact_id": contact_id, "account_type": "bank_account", "bank_account": account})


@pytest.fixture
def fund_account_id(razorpayx) -> str:
    return bank_account(razorpayx, contact(razorpayx).json()["id"]).json()["id"]


def payout_body(fund_account: str, **overrides) -> dict:
    return {"account_number": ACCOUNT_NUMBER, "fund_account_id": fund_account, "amount": 10_000,
            "currency": "INR", "mode": "IMPS", "purpose": "payout", "queue_if_low_balance": True,
            "reference_id": "pay_1", "narration": "Bazaar payout", "notes": {"seller": "usr_1"}, **overrides}


def create_payout(razorpayx: Control, body: dict, key: str | None = None) -> requests.Response:
    headers = {"X-Payout-Idempotency": key or str(uuid.uuid4())}
    return razorpayx.call("POST", "/payouts", json=body, headers=headers)


def signed(body: bytes) -> str:
    return hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


# -- auth and the allow-list ------------------------------------------------------------------


def test_calls_without_the_right_key_are_refused_with_401_in_the_error_envelope(razorpayx):
    for auth in (None, (KEY_ID, "wrong"), ("rzp_test_other", "contract-key-secret-1")):
        refused = razorpayx.call("GET", "/fund_accounts", auth=auth)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "BAD_REQUEST_ERROR"
        assert {"description", "source", "step", "reason", "metadata"} <= set(refused.json()["error"])
    assert razorpayx.call("GET", "/fund_accounts").status_code == 200


def test_an_address_off_the_allow_list_gets_403(razorpayx):
    razorpayx.post("config", {"allowed_ips": ["10.20.30.40"]})
    refused = razorpayx.call("GET", "/fund_accounts")
    assert refused.status_code == 403 and refused.json()["error"]["reason"] == "ip_not_allowlisted"
    assert razorpayx.state()["calls"][-1]["client_ip"] == "127.0.0.1"
    razorpayx.post("config", {"allowed_ips": ["10.20.30.40", "127.0.0.1"]})
    assert razorpayx.call("GET", "/fund_accounts").status_code == 200


# -- contacts and fund accounts ---------------------------------------------------------------


def test_the_same_contact_twice_is_one_contact(razorpayx):
    first, again = contact(razorpayx), contact(razorpayx)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["id"].startswith("cont_")
    assert first.json()["entity"] == "contact" and first.json()["reference_id"] == "usr_1"
    other = contact(razorpayx, reference_id="usr_2")
    assert other.json()["id"] != first.json()["id"]
    assert len(razorpayx.state()["contacts"]) == 2
    assert razorpayx.call("GET", f"/contacts/{first.json()['id']}").json()["name"] == "Asha Rao"


def test_the_same_fund_account_twice_is_one_and_can_be_fetched(razorpayx):
    contact_id = contact(razorpayx).json()["id"]
    first, again = bank_account(razorpayx, contact_id), bank_account(razorpayx, contact_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["id"].startswith("fa_")
    fetched = razorpayx.call("GET", f"/fund_accounts/{first.json()['id']}").json()
    assert fetched["account_type"] == "bank_account" and fetched["contact_id"] == contact_id
    assert fetched["bank_account"]["ifsc"] == "HDFC0001234" and fetched["bank_account"]["bank_name"] == "HDFC Bank"
    vpa = razorpayx.call("POST", "/fund_accounts", json={"contact_id": contact_id, "account_type": "vpa",
                                                         "vpa": {"address": "asha.rao@okicici"}})
    assert vpa.status_code == 201 and vpa.json()["vpa"]["handle"] == "okicici"
    listed = razorpayx.call("GET", "/fund_accounts", params={"contact_id": contact_id}).json()
    assert listed["entity"] == "collection" and listed["count"] == 2


@pytest.mark.parametrize(("overrides", "field"), [
    ({"ifsc": "HDFC000123"}, "ifsc"),
    ({"account_number": "1234"}, "account_number"),
    ({"account_number": "12-3456789"}, "account_number"),
    ({"account_number": "9" * 36}, "account_number"),
    ({"name": ""}, "name"),
])
def test_bad_bank_details_are_bad_request_errors_naming_the_field(razorpayx, overrides, field):
    refused = bank_account(razorpayx, contact(razorpayx).json()["id"], **overrides)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "BAD_REQUEST_ERROR" and refused.json()["error"]["field"] == field


def test_bad_vpa_and_unknown_contact_are_refused(razorpayx):
    contact_id = contact(razorpayx).json()["id"]
    bad_vpa = razorpayx.call("POST", "/fund_accounts", json={"contact_id": contact_id, "account_type": "vpa",
                                                             "vpa": {"address": "not-a-vpa"}})
    assert bad_vpa.status_code == 400 and bad_vpa.json()["error"]["field"] == "address"
    unknown = bank_account(razorpayx, "cont_doesnotexist00")
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "contact_id"


# -- payouts and the idempotency key ----------------------------------------------------------


def test_a_payout_is_created_processing_in_paise(razorpayx, fund_account_id):
    created = create_payout(razorpayx, payout_body(fund_account_id))
    assert created.status_code == 200
    payout = created.json()
    assert payout["id"].startswith("pout_") and payout["entity"] == "payout"
    assert (payout["amount"], payout["currency"], payout["mode"], payout["status"]) == (10_000, "INR", "IMPS",
                                                                                        "processing")
    assert {"fund_account_id", "fees", "tax", "utr", "purpose", "reference_id", "narration", "batch_id",
            "status_details", "created_at", "notes"} <= set(payout)
    assert razorpayx.state()["balance"] == razorpayx.sandbox.engine.initial_balance - 10_000


def test_the_idempotency_key_is_mandatory_and_checked(razorpayx, fund_account_id):
    missing = razorpayx.call("POST", "/payouts", json=payout_body(fund_account_id))
    assert missing.status_code == 400
    assert (missing.json()["error"]["code"], missing.json()["error"]["field"]) == ("BAD_REQUEST_ERROR",
                                                                                  "X-Payout-Idempotency")
    for bad in ("abc", "x" * 37, "key/with/slashes"):
        refused = create_payout(razorpayx, payout_body(fund_account_id), key=bad)
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "X-Payout-Idempotency", bad
    assert razorpayx.state()["payouts"] == []


def test_same_key_same_body_returns_the_original_answer_and_other_body_is_refused(razorpayx, fund_account_id):
    first = create_payout(razorpayx, payout_body(fund_account_id), key="payout pay_1-attempt_1")
    razorpayx.wait_for_status(first.json()["id"], "processed")
    # key order does not make it another body
    again = create_payout(razorpayx, dict(reversed(payout_body(fund_account_id).items())), key="payout pay_1-attempt_1")
    assert again.status_code == 200 and again.json() == first.json()  # the saved answer, status and all
    other = create_payout(razorpayx, payout_body(fund_account_id, amount=20_000), key="payout pay_1-attempt_1")
    assert other.status_code == 400 and other.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert len(razorpayx.state()["payouts"]) == 1


def test_a_refused_request_leaves_its_key_free_for_the_corrected_one(razorpayx, fund_account_id):
    refused = create_payout(razorpayx, payout_body(fund_account_id, amount=99), key="k-retry-1")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "amount"
    assert create_payout(razorpayx, payout_body(fund_account_id), key="k-retry-1").status_code == 200


@pytest.mark.parametrize(("overrides", "field"), [
    ({"amount": 99}, "amount"),
    ({"amount": "10000"}, "amount"),
    ({"mode": "imps"}, "mode"),
    ({"mode": "UPI"}, "mode"),  # a bank account cannot take UPI
    ({"purpose": "gift"}, "purpose"),
    ({"currency": "USD"}, "currency"),
    ({"account_number": "0000000000"}, "account_number"),
    ({"fund_account_id": "fa_doesnotexist0000"}, "fund_account_id"),
    ({"narration": "x" * 31}, "narration"),
    ({"narration": "paid!"}, "narration"),
    ({"reference_id": "r" * 41}, "reference_id"),
    ({"beneficiary": "someone"}, "beneficiary"),
])
def test_invalid_payouts_are_bad_request_errors_naming_the_field(razorpayx, fund_account_id, overrides, field):
    refused = create_payout(razorpayx, payout_body(fund_account_id, **overrides))
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "BAD_REQUEST_ERROR" and refused.json()["error"]["field"] == field


def test_payouts_are_listed_by_account_and_reference_id_and_fetched_by_id(razorpayx, fund_account_id):
    mine = create_payout(razorpayx, payout_body(fund_account_id, reference_id="pay_A")).json()
    create_payout(razorpayx, payout_body(fund_account_id, reference_id="pay_B"))
    listed = razorpayx.call("GET", "/payouts", params={"account_number": ACCOUNT_NUMBER,
                                                       "reference_id": "pay_A"}).json()
    assert listed["entity"] == "collection" and [p["id"] for p in listed["items"]] == [mine["id"]]
    assert razorpayx.call("GET", "/payouts").status_code == 400  # account_number is required
    assert razorpayx.call("GET", f"/payouts/{mine['id']}").json()["reference_id"] == "pay_A"
    unknown = razorpayx.call("GET", "/payouts/pout_doesnotexist000")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "BAD_REQUEST_ERROR"


# -- balance, queue and cancel ----------------------------------------------------------------


def test_low_balance_queues_and_a_top_up_releases_in_order(razorpayx, fund_account_id):
    razorpayx.post("balance", {"set": 15_000})
    first = create_payout(razorpayx, payout_body(fund_account_id, reference_id="pay_Q1", amount=10_000)).json()
    second = create_payout(razorpayx, payout_body(fund_account_id, reference_id="pay_Q2", amount=10_000)).json()
    third = create_payout(razorpayx, payout_body(fund_account_id, reference_id="pay_Q3", amount=10_000)).json()
    assert first["status"] == "processing"
    assert (second["status"], second["status_details"]["reason"]) == ("queued", "low_balance")
    assert third["status"] == "queued"
    refused = create_payout(razorpayx, payout_body(fund_account_id, queue_if_low_balance=False))
    assert refused.status_code == 400 and "balance" in refused.json()["error"]["description"]
    topped = razorpayx.post("balance", {"add": 10_000})  # 15k: covers the second, not the third too
    assert topped["released"] == [second["id"]] and topped["balance"] == 5_000
    razorpayx.wait_for_status(second["id"], "processed")
    assert razorpayx.payout(third["id"])["status"] == "queued"
    assert razorpayx.post("balance", {"add": 5_000})["released"] == [third["id"]]


def test_only_a_queued_payout_can_be_cancelled(razorpayx, fund_account_id):
    razorpayx.post("balance", {"set": 0})
    queued = create_payout(razorpayx, payout_body(fund_account_id)).json()
    cancelled = razorpayx.call("POST", f"/payouts/{queued['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = razorpayx.call("POST", f"/payouts/{queued['id']}/cancel")
    assert again.status_code == 400
    razorpayx.post("balance", {"set": 1_000_000})
    assert razorpayx.payout(queued["id"])["status"] == "cancelled"  # a top-up does not revive it
    live = create_payout(razorpayx, payout_body(fund_account_id)).json()
    refused = razorpayx.call("POST", f"/payouts/{live['id']}/cancel")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "BAD_REQUEST_ERROR"


# -- the walk and its webhooks ----------------------------------------------------------------


def test_a_payout_walks_to_processed_with_signed_webhooks_and_a_utr(razorpayx, fund_account_id):
    with ScriptedReceiver() as receiver:
        razorpayx.post("config", {"webhook_url": receiver.url})
        payout = create_payout(razorpayx, payout_body(fund_account_id)).json()
        deliveries = receiver.wait_for(3)
    assert [d.json()["event"] for d in deliveries] == ["payout.initiated", "payout.updated", "payout.processed"]
    for delivery in deliveries:
        assert hmac.compare_digest(delivery.headers["x-razorpay-signature"], signed(delivery.body))
        envelope = delivery.json()
        assert envelope["entity"] == "event" and envelope["contains"] == ["payout"]
        assert envelope["account_id"].startswith("acc_") and isinstance(envelope["created_at"], int)
        assert envelope["payload"]["payout"]["entity"]["id"] == payout["id"]
    assert len({d.headers["x-razorpay-event-id"] for d in deliveries}) == 3
    updated, processed = deliveries[1].json(), deliveries[2].json()
    assert updated["payload"]["payout"]["entity"]["status"] == "processing"
    assert updated["payload"]["payout"]["entity"]["utr"]
    assert processed["payload"]["payout"]["entity"]["utr"] == updated["payload"]["payout"]["entity"]["utr"]
    assert razorpayx.payout(payout["id"])["status"] == "processed"


def test_a_queued_payout_says_so_by_webhook(razorpayx, fund_account_id):
    razorpayx.post("balance", {"set": 0})
    with ScriptedReceiver() as receiver:
        razorpayx.post("config", {"webhook_url": receiver.url})
        create_payout(razorpayx, payout_body(fund_account_id))
        queued = receiver.wait_for(1)[0].json()
    assert queued["event"] == "payout.queued"
    assert queued["payload"]["payout"]["entity"]["status_details"]["reason"] == "low_balance"


def test_a_delivery_answered_non_2xx_is_retried_with_the_same_bytes_and_id(razorpayx, fund_account_id):
    razorpayx.post("config", {"settle_delay_seconds": 30})  # only payout.initiated in this test
    with ScriptedReceiver(answers=[500, 503]) as receiver:
        razorpayx.post("config", {"webhook_url": receiver.url})
        create_payout(razorpayx, payout_body(fund_account_id))
        deliveries = receiver.wait_for(3)
    assert len({d.body for d in deliveries}) == 1
    assert len({d.headers["x-razorpay-event-id"] for d in deliveries}) == 1
    attempts = [(d["attempt"], d["status"]) for d in razorpayx.state()["deliveries"]]
    assert attempts == [(1, 500), (2, 503), (3, 200)]


def test_retries_are_bounded(razorpayx, fund_account_id):
    razorpayx.post("config", {"settle_delay_seconds": 30, "webhook_max_attempts": 3})
    with ScriptedReceiver(answers=[500] * 10) as receiver:
        razorpayx.post("config", {"webhook_url": receiver.url})
        create_payout(razorpayx, payout_body(fund_account_id))
        receiver.wait_for(3)
        wait_until(lambda: any(d["gave_up"] for d in razorpayx.state()["deliveries"]))
    assert len(razorpayx.state()["deliveries"]) == 3


@pytest.mark.parametrize(("outcome", "events", "final"), [
    ("failed", ["payout.initiated", "payout.failed"], "failed"),
    ("reversed", ["payout.initiated", "payout.updated", "payout.processed", "payout.reversed"], "reversed"),
    ("rejected", ["payout.pending", "payout.rejected"], "rejected"),
])
def test_scripted_outcomes(razorpayx, fund_account_id, outcome, events, final):
    razorpayx.post("outcomes", {"outcome": outcome, "count": 1, "reason": f"sandbox_{outcome}"})
    with ScriptedReceiver() as receiver:
        razorpayx.post("config", {"webhook_url": receiver.url})
        payout = create_payout(razorpayx, payout_body(fund_account_id)).json()
        receiver.wait_for(len(events))
    assert receiver.events() == events
    settled = razorpayx.payout(payout["id"])
    assert settled["status"] == final and settled["status_details"]["reason"] == f"sandbox_{outcome}"
    # failed, reversed and rejected payouts leave the balance as it was
    assert razorpayx.state()["balance"] == razorpayx.sandbox.engine.initial_balance
    follow_up = create_payout(razorpayx, payout_body(fund_account_id, reference_id="pay_next")).json()
    assert razorpayx.wait_for_status(follow_up["id"], "processed")  # only the next `count` payouts


def test_advance_walks_now_including_processed_to_reversed(razorpayx, fund_account_id):
    razorpayx.post("config", {"settle_delay_seconds": 60})
    payout = create_payout(razorpayx, payout_body(fund_account_id)).json()
    walked = razorpayx.post(f"payouts/{payout['id']}/advance", {"to": "processed"})
    assert walked["events"] == ["payout.updated", "payout.processed"] and walked["payout"]["utr"]
    reversed_ = razorpayx.post(f"payouts/{payout['id']}/advance", {"to": "reversed"})
    assert reversed_["payout"]["status"] == "reversed"
    beyond = requests.post(f"{razorpayx.url}/_sandbox/payouts/{payout['id']}/advance", json={"to": "processed"},
                           timeout=10)
    assert beyond.status_code == 409


def test_held_webhooks_are_released_reversed_and_twice_and_replayed_verbatim(razorpayx, fund_account_id):
    with ScriptedReceiver() as receiver:
        razorpayx.post("config", {"webhook_url": receiver.url, "hold_webhooks": True})
        payout = create_payout(razorpayx, payout_body(fund_account_id)).json()
        razorpayx.wait_for_status(payout["id"], "processed")
        wait_until(lambda: len(razorpayx.state()["held"]) == 3)
        assert receiver.received == []
        assert razorpayx.post("webhooks/release", {"order": "reverse", "duplicate": True})["released"] == 6
        receiver.wait_for(6)
        assert receiver.events() == ["payout.processed"] * 2 + ["payout.updated"] * 2 + ["payout.initiated"] * 2
        razorpayx.post("config", {"hold_webhooks": False})
        first_event = razorpayx.state()["events"][0]
        razorpayx.post("webhooks/replay", {"event_id": first_event["event_id"]})
        replayed = receiver.wait_for(7)[-1]
    assert replayed.headers["x-razorpay-event-id"] == first_event["event_id"]
    assert replayed.body == receiver.received[5].body and replayed.json()["event"] == "payout.initiated"


# -- faults -----------------------------------------------------------------------------------


def test_faults_fail_the_next_calls_then_stop(razorpayx):
    razorpayx.post("faults", {"kind": "5xx", "count": 2, "status": 503})
    razorpayx.post("faults", {"kind": "429", "count": 1, "path": "/fund_accounts"})
    assert razorpayx.call("GET", "/fund_accounts").status_code == 503
    assert razorpayx.call("GET", "/fund_accounts").status_code == 503
    limited = razorpayx.call("GET", "/fund_accounts")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert razorpayx.call("GET", "/fund_accounts").status_code == 200


def test_a_timeout_that_still_creates_then_the_same_key_returns_that_payout(razorpayx, fund_account_id):
    razorpayx.post("faults", {"kind": "timeout", "count": 1, "path": "/payouts", "method": "POST",
                              "delay_seconds": 1.5, "then": "process"})
    body = payout_body(fund_account_id)
    with pytest.raises(requests.Timeout):
        requests.post(f"{razorpayx.api}/payouts", json=body, auth=(KEY_ID, "contract-key-secret-1"),
                      headers={"X-Payout-Idempotency": "slow-key-1"}, timeout=0.5)
    created = razorpayx.state()["payouts"]
    assert len(created) == 1  # it exists although its creator never heard back
    again = create_payout(razorpayx, body, key="slow-key-1")
    assert again.json()["id"] == created[0]["id"] and len(razorpayx.state()["payouts"]) == 1
