"""RazorpayX's harder cases on a local stack, over real protocols only (HTTP to the gateway and the
sandboxes, boto3 to moto): webhooks that come late, twice, out of order or never; a balance too
low to pay; triggers racing for one balance; amounts too small to pay; the seller's statement;
commission rules; webhooks that are not ours to act on. After every payout the payee's ledger
balances (tests/payees.assert_balanced) to the paisa."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import bearer
from tests.payees import PRICE, RATES, Control, Seller, assert_balanced, expected_net
from tests.shop import create_product
from tests.waiting import queues_drained, until


@pytest.fixture(scope="module")
def stack(payouts_stack):
    return payouts_stack


@pytest.fixture(scope="module")
def admin(payouts_admin) -> str:
    return payouts_admin


@pytest.fixture
def sandbox(razorpayx):
    """The reset sandbox; webhooks flow again after the test (reset keeps the config)."""
    yield razorpayx
    razorpayx.post("config", {"hold_webhooks": False})


def _payable_seller(stack, admin, quantity: int = 1) -> Seller:
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order(quantity)
    seller.settle()
    return seller


def _admin_payout(stack, admin, payout_id: str) -> dict:
    response = requests.get(f"{stack.url}/v1/admin/payouts/{payout_id}", headers=bearer(admin), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _at_sandbox(sandbox: Control, payout_id: str, status: str) -> dict:
    def there():
        found = sandbox.payouts(payout_id)
        return found[-1] if found and found[-1]["status"] == status else None
    return until(there, 30)


def _payout_events(stack, payout_id: str) -> list[str]:
    """The payout's events in the outbox, in their order (one per status change we announce)."""
    answer = stack.client("dynamodb").query(
        TableName=stack.names.table_name("order-events"), ConsistentRead=True,
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": f"PAYOUT#{payout_id}"}})
    return [item["event_type"]["S"] for item in answer["Items"]]


def _delivered(sandbox: Control) -> int:
    return sum(1 for d in sandbox.state()["deliveries"] if d["status"] == 200)


def _webhooks_applied(stack, sandbox: Control, delivered: int) -> None:
    """At least `delivered` webhooks were answered 2xx, and the worker has applied all of them."""
    until(lambda: _delivered(sandbox) >= delivered, 30)
    until(lambda: queues_drained(stack, "payout-webhooks"), 30)


def _audit(stack, admin, **params: str) -> list[dict]:
    response = requests.get(f"{stack.url}/v1/admin/audit", params=params, headers=bearer(admin), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


# -- 1. duplicate, out-of-order and replayed webhooks ------------------------------------------


def test_webhooks_in_reverse_twice_and_replayed_never_move_a_payout_backwards(stack, admin, sandbox):
    seller = _payable_seller(stack, admin)
    net = expected_net(PRICE)
    sandbox.post("config", {"hold_webhooks": True})

    payout_id = seller.pay_now().json()["payout_id"]
    at_razorpayx = _at_sandbox(sandbox, payout_id, "processed")
    held = until(lambda: len(h := sandbox.state()["held"]) == 3 and h, 30)  # held as they are made
    assert [e["event"] for e in held] == ["payout.initiated", "payout.updated", "payout.processed"]
    # Only the create answer has been heard: the money is moving, no UTR yet.
    sent = until(lambda: (p := _admin_payout(stack, admin, payout_id))["provider_payout_id"] and p, 30)
    assert sent["status"] == "processing" and sent["utr"] is None

    sandbox.post("config", {"hold_webhooks": False})
    assert sandbox.post("webhooks/release", {"order": "reverse", "duplicate": True})["released"] == 6
    _webhooks_applied(stack, sandbox, 6)

    done = _admin_payout(stack, admin, payout_id)
    assert done["status"] == "completed" and done["provider_status"] == "processed"
    assert done["utr"] == at_razorpayx["utr"] and done["processed_at"]
    # processing was never announced after completed, nor completed twice
    assert _payout_events(stack, payout_id) == ["PayoutRequested", "PayoutProcessed"]
    assert seller.balance() == {"earned_paise": net, "paid_out_paise": net, "in_flight_paise": 0,
                                "available_paise": 0}

    for index in (0, -1):  # the oldest (payout.initiated) and the latest (payout.processed), byte for byte
        sandbox.post("webhooks/replay", {"index": index})
    _webhooks_applied(stack, sandbox, 8)

    assert _admin_payout(stack, admin, payout_id) == done
    assert _payout_events(stack, payout_id) == ["PayoutRequested", "PayoutProcessed"]
    assert_balanced(seller.balance())
    assert seller.balance()["paid_out_paise"] == net


def test_a_late_webhook_of_a_failed_attempt_does_not_fail_the_retry(stack, admin, sandbox):
    seller = _payable_seller(stack, admin)
    available = seller.balance()["available_paise"]
    sandbox.post("outcomes", {"outcome": "failed", "count": 1, "reason": "beneficiary_bank_down"})
    payout_id = seller.pay_now().json()["payout_id"]
    first = seller.payout_settles(payout_id, "failed")
    [failed_event] = [e for e in sandbox.state()["events"] if e["event"] == "payout.failed"]
    # The retry's create gets no answer (both of the processor's tries): attempt 2 is not sent yet.
    sandbox.post("faults", {"kind": "5xx", "count": 2, "path": "/payouts", "method": "POST"})
    retried = seller.admin_post(f"/v1/admin/payouts/{payout_id}/retry", {"reason": "bank is back"})
    assert retried.status_code == 200 and retried.json()["attempt"] == 2, retried.text
    until(lambda: len([c for c in sandbox.state()["calls"]
                       if c["idempotency_key"] == f"{payout_id}-2" and c["fault"] == "5xx"]) == 2, 30)

    # RazorpayX delivers at least once: attempt 1's failure comes again.
    delivered = _delivered(sandbox)
    sandbox.post("webhooks/replay", {"event_id": failed_event["event_id"]})
    _webhooks_applied(stack, sandbox, delivered + 1)

    waiting = _admin_payout(stack, admin, payout_id)
    assert waiting["status"] == "pending" and waiting["attempt"] == 2 and waiting["provider_payout_id"] is None
    assert seller.balance()["in_flight_paise"] == available  # its postings stay claimed
    # The job is sent again (a hold and its release queue every unsent payout of the payee).
    for action, reason in (("hold", "re-sending attempt 2"), ("release", "re-send attempt 2")):
        answer = seller.admin_post(f"/v1/admin/payees/{seller.user_id}/{action}", {"role": "seller", "reason": reason})
        assert answer.status_code == 200, answer.text
    done = seller.payout_settles(payout_id)
    assert done["attempt"] == 2 and done["provider_payout_id"] != first["provider_payout_id"]
    assert [p["status"] for p in sandbox.payouts(payout_id)] == ["failed", "processed"]
    assert seller.balance()["paid_out_paise"] == available
    assert_balanced(seller.balance())


# -- 2. webhooks lost: the status poll settles the payout --------------------------------------


def test_a_payout_whose_webhooks_are_lost_is_settled_by_the_status_poll(stack, admin, sandbox):
    seller = _payable_seller(stack, admin)
    net = expected_net(PRICE)
    sandbox.post("config", {"hold_webhooks": True})  # and never released: lost

    payout_id = seller.pay_now().json()["payout_id"]
    at_razorpayx = _at_sandbox(sandbox, payout_id, "processed")
    until(lambda: _admin_payout(stack, admin, payout_id)["provider_payout_id"], 30)
    assert _admin_payout(stack, admin, payout_id)["status"] == "processing"

    run = requests.post(f"{stack.url}/_local/schedules/payouts-status/run", timeout=60)
    assert run.status_code == 200 and run.json()["ok"], run.text
    assert run.json()["result"]["checked"] >= 1

    done = _admin_payout(stack, admin, payout_id)
    assert done["status"] == "completed" and done["utr"] == at_razorpayx["utr"]
    assert sandbox.state()["deliveries"] == []  # no webhook helped
    assert seller.balance() == {"earned_paise": net, "paid_out_paise": net, "in_flight_paise": 0,
                                "available_paise": 0}


# -- 3. a balance too low at RazorpayX ---------------------------------------------------------


def _queued_payout(stack, admin, sandbox: Control) -> tuple[Seller, str]:
    seller = _payable_seller(stack, admin)
    sandbox.post("balance", {"set": 100})  # one rupee: less than the payout
    payout_id = seller.pay_now().json()["payout_id"]
    _at_sandbox(sandbox, payout_id, "queued")
    queued = until(lambda: (p := _admin_payout(stack, admin, payout_id))["provider_status"] == "queued" and p, 30)
    assert queued["status"] == "pending" and queued["provider_payout_id"]
    balance = seller.balance()
    assert balance["in_flight_paise"] == expected_net(PRICE) and balance["available_paise"] == 0
    return seller, payout_id


def test_a_payout_queued_for_low_balance_can_be_cancelled_and_its_money_is_back(stack, admin, sandbox):
    seller, payout_id = _queued_payout(stack, admin, sandbox)

    cancelled = seller.admin_post(f"/v1/admin/payouts/{payout_id}/cancel", {"reason": "account not funded this week"})

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "failed" and "account not funded" in cancelled.json()["failure_reason"]
    assert _at_sandbox(sandbox, payout_id, "cancelled")
    balance = seller.balance()
    assert balance["available_paise"] == expected_net(PRICE) and balance["in_flight_paise"] == 0
    assert_balanced(balance)
    [entry] = _audit(stack, admin, action="payout.cancelled", target_id=payout_id)
    assert entry["reason"] == "account not funded this week" and entry["after"] == {"status": "failed"}
    again = seller.admin_post(f"/v1/admin/payouts/{payout_id}/cancel", {"reason": "twice"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_STATE_TRANSITION"


def test_a_payout_queued_for_low_balance_is_paid_after_a_top_up(stack, admin, sandbox):
    seller, payout_id = _queued_payout(stack, admin, sandbox)

    topped_up = sandbox.post("balance", {"add": 10_000_000})

    assert topped_up["released"] == [sandbox.payouts(payout_id)[0]["id"]]
    done = seller.payout_settles(payout_id)
    assert done["utr"] and done["amount_paise"] == expected_net(PRICE)
    balance = seller.balance()
    assert balance["paid_out_paise"] == expected_net(PRICE) and balance["available_paise"] == 0
    assert_balanced(balance)
    late = seller.admin_post(f"/v1/admin/payouts/{payout_id}/cancel", {"reason": "too late"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "INVALID_STATE_TRANSITION"


# -- 4. claimed entries, small amounts ---------------------------------------------------------


def test_the_daily_run_and_an_admin_pay_now_racing_make_one_payout(stack, admin, sandbox):
    seller = _payable_seller(stack, admin)

    def daily_run() -> requests.Response:
        return requests.post(f"{stack.url}/_local/schedules/payouts-daily/run", timeout=120)

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(daily_run if n % 2 else seller.pay_now) for n in range(6)]
        answers = [f.result() for f in futures]

    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    pay_nows = answers[0::2]
    assert {a.json()["error"]["code"] for a in pay_nows if a.status_code == 409} <= {"NOTHING_TO_PAY"}
    [payout] = seller.payouts()
    done = seller.payout_settles(payout["payout_id"])
    assert done["amount_paise"] == expected_net(PRICE)
    assert len(sandbox.payouts(payout["payout_id"])) == 1
    assert seller.balance() == {"earned_paise": expected_net(PRICE), "paid_out_paise": expected_net(PRICE),
                                "in_flight_paise": 0, "available_paise": 0}


@pytest.mark.parametrize("price", [100, 5_000], ids=["below-one-rupee", "below-the-seller-minimum"])
def test_a_balance_below_the_minimum_is_not_paid_and_nothing_reaches_razorpayx(stack, admin, sandbox, price):
    seller = Seller(stack, admin)
    seller.shop.product = create_product(stack.url, seller.token, [100], price_paise=price,
                                         title=f"Bookmark {uuid.uuid4().hex[:6]}")
    seller.register_account()
    seller.delivered_order()
    seller.settle()
    available = seller.balance()["available_paise"]
    assert 0 < available == expected_net(price) < 10_000

    refused = seller.pay_now()
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "NOTHING_TO_PAY"
    assert requests.post(f"{stack.url}/_local/schedules/payouts-daily/run", timeout=120).status_code == 200

    assert seller.payouts() == []
    payee = f"seller:{seller.user_id}"
    assert [p for p in sandbox.state()["payouts"] if p["notes"].get("payee") == payee] == []
    assert seller.balance() == {"earned_paise": available, "paid_out_paise": 0, "in_flight_paise": 0,
                                "available_paise": available}


# -- 5. the seller's statement -----------------------------------------------------------------


def _rupees(paise: int) -> str:
    sign = "-" if paise < 0 else ""
    return f"{sign}{abs(paise) // 100}.{abs(paise) % 100:02d}"


def test_a_sellers_statement_in_json_and_csv_agree_to_the_paisa(stack, admin):
    seller = Seller(stack, admin)
    seller.delivered_order(quantity=2)
    seller.delivered_order(quantity=1)
    seller.settle()
    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}

    def statement(**params) -> requests.Response:
        return requests.get(f"{stack.url}/v1/seller/statement", params=params, headers=bearer(seller.token),
                            timeout=30)

    as_json = statement(**period)
    assert as_json.status_code == 200, as_json.text
    figures = as_json.json()
    gross = 3 * PRICE
    assert figures["gross_paise"] == gross and len(figures["postings"]) == 2
    assert figures["commission_paise"] == sum((PRICE * q * RATES["PLATFORM_FEE_BPS"] + 5000) // 10000 for q in (2, 1))
    assert figures["gross_paise"] - figures["commission_paise"] - figures["gateway_fees_paise"] \
        - figures["tcs_paise"] - figures["tds_paise"] == figures["net_paise"]
    assert figures["net_paise"] == expected_net(2 * PRICE) + expected_net(PRICE)
    assert figures["net_paise"] == seller.balance()["earned_paise"]

    as_csv = statement(**period, format="csv")
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    *lines, total = rows
    assert len(lines) == 2 and total["posted_at"] == "total"
    assert [total[k] for k in ("gross", "commission", "gateway_fee", "tcs", "tds", "net")] == [
        _rupees(figures[k]) for k in ("gross_paise", "commission_paise", "gateway_fees_paise", "tcs_paise",
                                      "tds_paise", "net_paise")]
    assert sum(round(float(line["net"]) * 100) for line in lines) == figures["net_paise"]

    a_year = statement(**{"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()})
    assert a_year.status_code == 200 and a_year.json()["net_paise"] == figures["net_paise"]  # 366 days: allowed
    for bad in ({"from": period["to"], "to": period["from"]},  # backwards
                {"from": (today - timedelta(days=366)).isoformat(), "to": today.isoformat()}):  # 367 days
        refused = statement(**bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "VALIDATION_FAILED", refused.text


# -- 6. commission rules -----------------------------------------------------------------------


def _sale_commission(seller: Seller) -> dict:
    [sale] = [p for p in seller.earnings()["items"] if p["kind"] == "sale"]
    [entry] = [e for e in sale["entries"] if e["kind"] == "commission" and e["account"] == f"seller:{seller.user_id}"]
    return entry


def test_commission_rules_by_category_and_seller_apply_to_orders_settled_after_them(stack, admin):
    rules_url = f"{stack.url}/v1/admin/commission-rules"
    category = f"books-{uuid.uuid4().hex[:6]}"
    by_rule, by_category = Seller(stack, admin), Seller(stack, admin)
    for seller in (by_rule, by_category):
        seller.shop.product = create_product(stack.url, seller.token, [100], category=category, price_paise=PRICE,
                                             title=f"Novel {uuid.uuid4().hex[:6]}")

    def put(body: dict, token: str = admin) -> requests.Response:
        return requests.put(rules_url, json=body, headers=bearer(token), timeout=30)

    assert put({"category": category, "bps": 400, "reason": "launch offer for books"}).status_code == 200
    set_category = put({"category": category, "bps": 500, "reason": "books commission"})
    assert set_category.status_code == 200, set_category.text
    set_seller = put({"seller_id": by_rule.user_id, "bps": 300, "reason": "negotiated rate"})
    assert set_seller.status_code == 200, set_seller.text

    listed = requests.get(rules_url, headers=bearer(admin), timeout=30).json()
    ours = {r["scope"]: r["bps"] for r in listed if category == r["category"] or r["seller_id"] == by_rule.user_id}
    assert ours == {f"seller=*/category={category}": 500, f"seller={by_rule.user_id}/category=*": 300}

    for seller in (by_rule, by_category):
        seller.delivered_order()
    by_rule.settle()

    assert _sale_commission(by_rule).items() >= {"rate_bps": 300, "amount_paise": -((PRICE * 300 + 5000) // 10000)}.items()
    assert _sale_commission(by_category).items() >= {"rate_bps": 500,
                                                     "amount_paise": -((PRICE * 500 + 5000) // 10000)}.items()

    audited = [e for e in _audit(stack, admin, action="commission.rule_set")
               if e["target_id"] == f"seller=*/category={category}"]
    assert [(e["before"]["bps"], e["after"]["bps"]) for e in audited] == [(400, 500), (None, 400)]
    assert audited[0]["reason"] == "books commission"

    refused = put({"category": category, "bps": 0, "reason": "free for all"}, token=by_rule.token)
    assert refused.status_code == 403
    assert requests.get(rules_url, headers=bearer(by_rule.token), timeout=30).status_code == 403
    unscoped = put({"bps": 700, "reason": "no scope"})
    assert unscoped.status_code == 400 and unscoped.json()["error"]["code"] == "VALIDATION_FAILED", unscoped.text


# -- 7. webhooks that are not ours to act on ---------------------------------------------------


def _webhook_secret(stack) -> str:
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.names.secret_id("razorpayx"))
    return json.loads(secret["SecretString"])["webhook_secret"]


def _post_webhook(stack, body: bytes, secret: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json", "X-Razorpay-Event-Id": f"evt_{uuid.uuid4().hex[:14]}"}
    if secret is not None:
        headers["X-Razorpay-Signature"] = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(f"{stack.url}/webhooks/razorpayx", data=body, headers=headers, timeout=30)


def _payout_event(event: str, entity: dict) -> bytes:
    return json.dumps({"entity": "event", "account_id": "acc_BazaarLocal", "event": event, "contains": ["payout"],
                       "payload": {"payout": {"entity": entity}}, "created_at": int(time.time())}).encode()


def _entity(reference_id: str, status: str, payout_id: str | None = None) -> dict:
    return {"id": payout_id or f"pout_{uuid.uuid4().hex[:14]}", "entity": "payout", "fund_account_id": "fa_x",
            "amount": 10_000, "currency": "INR", "fees": 0, "tax": 0, "status": status, "utr": "UTR000000000001",
            "mode": "IMPS", "purpose": "payout", "reference_id": reference_id, "narration": "Bazaar payout",
            "status_details": None, "created_at": int(time.time())}


def test_webhooks_we_do_not_act_on_are_acknowledged_or_refused_and_change_nothing(stack, admin, sandbox):
    secret = _webhook_secret(stack)
    seller = _payable_seller(stack, admin)
    paid = seller.payout_settles(seller.pay_now().json()["payout_id"])
    before = _admin_payout(stack, admin, paid["payout_id"])

    unknown = f"pay_{uuid.uuid4().hex[:26].upper()}"
    for body in (_payout_event("payout.processed", _entity(unknown, "processed")),
                 # ours, but about a RazorpayX payout that is not this payout's
                 _payout_event("payout.reversed", _entity(paid["payout_id"], "reversed"))):
        answer = _post_webhook(stack, body, secret)
        assert answer.status_code == 200, answer.text
    until(lambda: queues_drained(stack, "payout-webhooks"), 30)
    missing = requests.get(f"{stack.url}/v1/admin/payouts/{unknown}", headers=bearer(admin), timeout=30)
    assert missing.status_code == 404
    assert _admin_payout(stack, admin, paid["payout_id"]) == before

    captured = json.dumps({"entity": "event", "account_id": "acc_BazaarLocal", "event": "payment.captured",
                           "contains": ["payment"], "payload": {"payment": {"entity": {"id": "pay_x"}}},
                           "created_at": int(time.time())}).encode()
    ignored = _post_webhook(stack, captured, secret)
    assert ignored.status_code == 200 and ignored.json() == {"status": "ignored"}

    unsigned = _post_webhook(stack, _payout_event("payout.reversed", _entity(paid["payout_id"], "reversed",
                                                                             paid["provider_payout_id"])), None)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "UNAUTHORIZED"
    too_big = _post_webhook(stack, _payout_event("payout.processed", {**_entity(unknown, "processed"),
                                                                      "narration": "x" * 70_000}), secret)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    until(lambda: queues_drained(stack, "payout-webhooks"), 30)
    assert _admin_payout(stack, admin, paid["payout_id"]) == before
    assert_balanced(seller.balance())
