"""Sellers and scouts paid end to end on a local stack, over real protocols only: orders are bought
and paid through the PhonePe sandbox, shipped through the Shiprocket sandbox and marked delivered by
an admin; the return window passes (this stack's window is 0 days: the settlement schedule is
fired by hand); payouts go to the RazorpayX sandbox, whose signed webhooks come back through the
local gateway. After every flow and race, each payee's ledger balances: earned = paid out + in
flight + available."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import bearer, login
from tests.live import LiveSocket
from tests.payees import PRICE, Seller, assert_balanced, expected_net
from tests.waiting import until


@pytest.fixture(scope="module")
def stack(payouts_stack):
    return payouts_stack


@pytest.fixture(scope="module")
def admin(payouts_admin) -> str:
    return payouts_admin


def test_a_delivered_order_becomes_payable_after_its_window_and_is_paid_out_exactly(stack, admin, razorpayx):
    seller = Seller(stack, admin)
    order = seller.delivered_order(quantity=2)  # 2 x 499.00
    assert seller.earnings()["items"] == []  # delivered, but the window has not been checked yet

    seller.settle()

    earnings = seller.earnings()
    [sale] = earnings["items"]
    assert sale["kind"] == "sale" and sale["order_id"] == order["order_id"]
    gross = 2 * PRICE
    assert sale["net_paise"] == expected_net(gross) and earnings["balance"]["available_paise"] == expected_net(gross)
    kinds = {e["kind"]: e for e in sale["entries"] if e["account"] == f"seller:{seller.user_id}"}
    assert kinds["commission"]["amount_paise"] == -9_980 and kinds["commission"]["rate_bps"] == 1000
    assert kinds["tcs"]["amount_paise"] == -499 and kinds["tds"]["amount_paise"] == -100
    assert sum(e["amount_paise"] for e in sale["entries"]) == gross  # the order's entries sum to what was paid
    seller.settle()  # the schedule again: nothing is posted twice
    assert len(seller.earnings()["items"]) == 1

    refused = seller.pay_now()
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "PAYOUT_ACCOUNT_MISSING"
    account = seller.register_account()
    assert account["masked"] == "XXXXXX6789" and "50100123456789" not in json.dumps(account)

    created = seller.pay_now()
    assert created.status_code == 200, created.text
    payout = seller.payout_settles(created.json()["payout_id"])
    assert payout["amount_paise"] == expected_net(gross) and payout["utr"]
    [at_razorpayx] = razorpayx.payouts(payout["payout_id"])
    assert at_razorpayx["amount"] == expected_net(gross) and at_razorpayx["status"] == "processed"
    balance = seller.balance()
    assert balance == {"earned_paise": expected_net(gross), "paid_out_paise": expected_net(gross),
                       "in_flight_paise": 0, "available_paise": 0}
    again = seller.pay_now()
    assert again.status_code == 409 and again.json()["error"]["code"] == "NOTHING_TO_PAY"

    def told() -> set[str]:
        feed = requests.get(f"{stack.url}/v1/me/notifications", headers=bearer(seller.token), timeout=30).json()
        return {n["kind"] for n in feed["items"]}
    until(lambda: told() >= {"payout_requested", "payout_sent"}, 30)


def test_concurrent_payout_triggers_make_one_payout(stack, admin, razorpayx):
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order()
    seller.settle()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: seller.pay_now(), range(8)))

    made = [a for a in answers if a.status_code == 200]
    assert len(made) == 1, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code != 200} == {"NOTHING_TO_PAY"}
    seller.payout_settles(made[0].json()["payout_id"])
    assert len(razorpayx.payouts(made[0].json()["payout_id"])) == 1
    assert_balanced(seller.balance())


@pytest.mark.parametrize("fault", [
    {"kind": "5xx", "count": 1},
    # Made at RazorpayX, but the answer comes after the client's 10 s read timeout.
    {"kind": "timeout", "count": 1, "then": "process", "delay_seconds": 11},
], ids=["5xx", "timeout-that-still-creates"])
def test_provider_faults_make_exactly_one_payout(stack, admin, razorpayx, fault):
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order()
    seller.settle()
    razorpayx.post("faults", {**fault, "path": "/payouts", "method": "POST"})

    created = seller.pay_now()
    assert created.status_code == 200, created.text
    payout_id = created.json()["payout_id"]

    payout = seller.payout_settles(payout_id)
    assert len(razorpayx.payouts(payout_id)) == 1  # one payout at RazorpayX, however often we asked
    assert payout["attempt"] == 1
    assert_balanced(seller.balance())


def test_a_failed_payout_puts_the_money_back_and_an_admin_retry_pays_it(stack, admin, razorpayx):
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order()
    seller.settle()
    available = seller.balance()["available_paise"]
    razorpayx.post("outcomes", {"outcome": "failed", "count": 1, "reason": "beneficiary_bank_down",
                                "description": "The beneficiary bank is down"})

    with LiveSocket(stack, admin) as dashboard:
        payout_id = seller.pay_now().json()["payout_id"]
        failed = seller.payout_settles(payout_id, "failed")
        # The admin dashboard is told live, as an operational event.
        dashboard.wait_for(lambda frames: [f for f in frames if f["type"] == "ops.payout_failed"
                                           and f.get("payout_id") == payout_id])
    assert "bank" in (failed["failure_reason"] or "").lower()
    assert seller.balance()["available_paise"] == available
    assert_balanced(seller.balance())
    retried = seller.admin_post(f"/v1/admin/payouts/{payout_id}/retry", {"reason": "bank is back"})
    assert retried.status_code == 200, retried.text
    assert retried.json()["attempt"] == 2
    done = seller.payout_settles(payout_id)
    assert done["amount_paise"] == available
    assert [p["status"] for p in razorpayx.payouts(payout_id)] == ["failed", "processed"]
    assert seller.balance()["paid_out_paise"] == available


def test_a_reversal_after_processed_gives_the_money_back(stack, admin, razorpayx):
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order()
    seller.settle()
    available = seller.balance()["available_paise"]
    payout_id = seller.pay_now().json()["payout_id"]
    done = seller.payout_settles(payout_id)
    assert seller.balance()["paid_out_paise"] == available

    razorpayx.post(f"payouts/{done['provider_payout_id']}/advance", {"to": "reversed"})

    seller.payout_settles(payout_id, "reversed")
    balance = seller.balance()
    assert balance["paid_out_paise"] == 0 and balance["available_paise"] == available
    assert_balanced(balance)


def test_a_refund_after_payout_posts_a_negative_entry_the_next_payout_nets(stack, admin, razorpayx):
    seller = Seller(stack, admin)
    seller.register_account()
    first = seller.delivered_order()
    seller.settle()
    paid = seller.payout_settles(seller.pay_now().json()["payout_id"])
    refund = seller.admin_post(f"/v1/admin/orders/{first['order_id']}/refund",
                               {"amount_paise": PRICE, "reason": "returned unopened"},
                               **{"Idempotency-Key": uuid.uuid4().hex})
    assert refund.status_code == 202, refund.text  # a pre-approved refund request: the workflow sends it
    refund_id = until(lambda: seller.admin_refund_id(first["order_id"]), 60)
    phonepe = stack.sandbox("phonepe")
    requests.post(f"{phonepe.url}/_sandbox/refunds/{refund_id}/outcome", json={"outcome": "completed"},
                  timeout=10).raise_for_status()
    requests.post(f"{stack.url}/_local/schedules/refund-status/run", timeout=60).raise_for_status()
    stack.wait_for_streams()

    reversal = until(lambda: next((p for p in seller.earnings()["items"] if p["kind"] == "refund_reversal"), None), 60)
    assert reversal["net_paise"] == -paid["amount_paise"]  # the whole order came back: all of it is taken back
    balance = seller.balance()
    assert balance["available_paise"] == -paid["amount_paise"]
    assert_balanced(balance, clawback_pending=True)
    seller.delivered_order(quantity=3)
    seller.settle()
    netted = seller.pay_now()
    assert netted.status_code == 200, netted.text
    assert netted.json()["amount_paise"] == expected_net(3 * PRICE) - paid["amount_paise"]
    seller.payout_settles(netted.json()["payout_id"])
    assert_balanced(seller.balance())
    assert seller.balance()["available_paise"] == 0


def test_a_scout_earns_a_bounty_on_a_recruits_first_order_and_withdraws_it(stack, admin, razorpayx):
    scout = login(stack.url, **stack.accounts["scout"])["access_token"]
    code = requests.get(f"{stack.url}/v1/scouts/me/referral", headers=bearer(scout), timeout=30).json()["referral_code"]
    seller = Seller(stack, admin)
    email, password = f"recruit-{uuid.uuid4().hex[:8]}@test.bazaar.local", f"{uuid.uuid4().hex}aZ7!"
    registered = requests.post(f"{stack.url}/v1/auth/register", timeout=30, json={
        "email": email, "password": password, "name": "Recruit", "role": "customer", "referral_code": code})
    assert registered.status_code == 201, registered.text
    seller.shop.customer = login(stack.url, email, password)["access_token"]
    before = _scout_earnings(stack, scout)["balance"]["available_paise"]

    seller.delivered_order()
    seller.delivered_order()  # a second order of the same recruit earns nothing more
    seller.settle()

    earnings = _scout_earnings(stack, scout)
    bounties = [p for p in earnings["items"] if p["kind"] == "bounty"]
    assert len([b for b in bounties if b["posting_id"] == f"bounty:{registered.json()['user_id']}"]) == 1
    assert earnings["balance"]["available_paise"] == before + 1000
    account = requests.put(f"{stack.url}/v1/scouts/me/payout-account", headers=bearer(scout), timeout=30,
                           json={"kind": "vpa", "holder_name": "Local Scout", "vpa": "scout.local@okicici"})
    assert account.status_code == 200, account.text
    too_much = requests.post(f"{stack.url}/v1/scouts/me/payouts", timeout=30, json={"amount_paise": before + 1001},
                             headers={**bearer(scout), "Idempotency-Key": uuid.uuid4().hex})
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "WITHDRAWAL_EXCEEDS_BALANCE"
    tiny = requests.post(f"{stack.url}/v1/scouts/me/payouts", timeout=30, json={"amount_paise": 99},
                         headers={**bearer(scout), "Idempotency-Key": uuid.uuid4().hex})
    assert tiny.status_code == 400  # below RazorpayX's one rupee
    key = uuid.uuid4().hex
    withdrawal = requests.post(f"{stack.url}/v1/scouts/me/payouts", timeout=30,
                               headers={**bearer(scout), "Idempotency-Key": key})
    assert withdrawal.status_code == 201, withdrawal.text
    repeat = requests.post(f"{stack.url}/v1/scouts/me/payouts", timeout=30,
                           headers={**bearer(scout), "Idempotency-Key": key})
    assert repeat.json()["payout_id"] == withdrawal.json()["payout_id"]
    assert withdrawal.json()["mode"] == "UPI" and withdrawal.json()["amount_paise"] == before + 1000
    until(lambda: any(p["status"] == "completed" and p["payout_id"] == withdrawal.json()["payout_id"]
                      for p in requests.get(f"{stack.url}/v1/scouts/me/payouts", headers=bearer(scout),
                                            timeout=30).json()["items"]), 60)
    empty = requests.post(f"{stack.url}/v1/scouts/me/payouts", timeout=30,
                          headers={**bearer(scout), "Idempotency-Key": uuid.uuid4().hex})
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "NOTHING_TO_PAY"


def _scout_earnings(stack, token: str) -> dict:
    response = requests.get(f"{stack.url}/v1/scouts/me/earnings", headers=bearer(token), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_held_payee_is_not_paid_until_released(stack, admin, razorpayx):
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order()
    seller.settle()
    held = seller.admin_post(f"/v1/admin/payees/{seller.user_id}/hold", {"role": "seller", "reason": "KYC review"})
    assert held.status_code == 200 and held.json()["held"] is True

    refused = seller.pay_now()
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "PAYOUTS_HELD"
    released = seller.admin_post(f"/v1/admin/payees/{seller.user_id}/release", {"role": "seller", "reason": "KYC ok"})
    assert released.status_code == 200, released.text
    seller.payout_settles(seller.pay_now().json()["payout_id"])
    audit = requests.get(f"{stack.url}/v1/admin/audit", params={"target_id": seller.user_id},
                         headers=bearer(admin), timeout=30).json()["items"]
    assert [e["action"] for e in audit][:3] == ["payout.requested", "payee.released", "payee.held"]


def test_bad_input_is_refused_with_clear_codes(stack, admin):
    seller = Seller(stack, admin)
    bad_ifsc = requests.put(f"{stack.url}/v1/seller/payout-account", headers=bearer(seller.token), timeout=30,
                            json={"kind": "bank_account", "holder_name": "Asha", "ifsc": "HDFC1234",
                                  "account_number": "50100123456789"})
    assert bad_ifsc.status_code == 400 and bad_ifsc.json()["error"]["code"] == "VALIDATION_FAILED"
    mixed = requests.put(f"{stack.url}/v1/seller/payout-account", headers=bearer(seller.token), timeout=30,
                         json={"kind": "vpa", "holder_name": "Asha", "vpa": "a@b", "ifsc": "HDFC0001234"})
    assert mixed.status_code == 400
    customer = seller.shop.customer
    forbidden = requests.get(f"{stack.url}/v1/seller/earnings", headers=bearer(customer), timeout=30)
    assert forbidden.status_code == 403
    forged = requests.post(f"{stack.url}/webhooks/razorpayx", data=b'{"event":"payout.processed"}', timeout=30,
                           headers={"X-Razorpay-Signature": "0" * 64, "Content-Type": "application/json"})
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "UNAUTHORIZED"


def test_razorpayx_is_reached_only_from_the_fixed_egress_address(stack, admin, razorpayx):
    """The sandbox allowlists the NAT gateway twin's address, as the RazorpayX dashboard does the
    Elastic IP: the payout functions' calls arrive from it, and a call from anywhere else is refused."""
    seller = Seller(stack, admin)
    seller.register_account()
    secret = json.loads(stack.client("secretsmanager").get_secret_value(
        SecretId=stack.names.secret_id("razorpayx"))["SecretString"])

    direct = requests.get(f"{stack.sandbox('razorpayx').url}/v1/payouts", timeout=30,
                          params={"account_number": secret["account_number"]},
                          auth=(secret["key_id"], secret["key_secret"]))

    assert direct.status_code == 403
    state = requests.get(f"{razorpayx.url}/_sandbox/state", timeout=30).json()
    answered = [c for c in state["calls"] if c["status"] < 400]
    assert answered and {c["client_ip"] for c in answered} == {stack.egress.egress_address}
