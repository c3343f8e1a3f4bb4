"""The RazorpayX client against the sandbox, over HTTP: registration that repeats safely, failure
mapping, and a create that timed out but took effect, retried with the same key into exactly one
payout."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from bazaar.payouts.adapters.razorpayx import RazorpayX
from bazaar.payouts.settings import RazorpayXCredentials
from bazaar.payouts.provider import (
    BankAccount,
    Beneficiary,
    PayoutOrder,
    ProviderRejected,
    ProviderUnavailable,
    UpiAddress,
)
from bazaar.payouts.webhooks import PayoutWebhook, parse_payout_webhook, verify_signature
from tests.integration.razorpayx_support import (
    ACCOUNT_NUMBER,
    KEY_ID,
    KEY_SECRET,
    WEBHOOK_SECRET,
    Control,
    ScriptedReceiver,
    running_sandbox,
)

CREDENTIALS = RazorpayXCredentials(key_id=KEY_ID, key_secret=SecretStr(KEY_SECRET),
                                   webhook_secret=SecretStr(WEBHOOK_SECRET), account_number=ACCOUNT_NUMBER)
SELLER = Beneficiary(reference_id="usr_seller_1", name="Asha Rao", email="asha@example.in",
                     destination=BankAccount(holder_name="Asha Rao", ifsc="HDFC0001234",
                                             account_number="50100123456789"))


@pytest.fixture(scope="module")
def _razorpayx_sandbox():
    with running_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def razorpayx(_razorpayx_sandbox) -> Control:
    return Control(_razorpayx_sandbox).fresh()


def client(razorpayx: Control, credentials: RazorpayXCredentials = CREDENTIALS) -> RazorpayX:
    # A short read timeout so the sandbox's timeout fault is felt quickly.
    return RazorpayX(razorpayx.api, lambda: credentials, timeout=(1.0, 1.0))


def an_order(fund_account_id: str, **overrides) -> PayoutOrder:
    fields = {"fund_account_id": fund_account_id, "amount_paise": 125_000, "mode": "imps", "reference_id": "pay_1",
              "narration": "Bazaar payout", "idempotency_key": "payout-pay_1", "notes": {"seller": "usr_seller_1"},
              **overrides}
    return PayoutOrder(**fields)


def test_registering_twice_gives_the_same_fund_account(razorpayx):
    provider = client(razorpayx)
    first, again = provider.register(SELLER), provider.register(SELLER)
    assert first == again
    assert first.contact_id.startswith("cont_") and first.fund_account_id.startswith("fa_")
    state = razorpayx.state()
    assert len(state["contacts"]) == 1 and len(state["fund_accounts"]) == 1
    assert state["contacts"][0]["reference_id"] == "usr_seller_1" and state["contacts"][0]["type"] == "vendor"
    upi = provider.register(SELLER.model_copy(update={"destination": UpiAddress(address="asha@okicici")}))
    assert upi.contact_id == first.contact_id and upi.fund_account_id != first.fund_account_id


def test_a_payout_leaves_in_paise_upper_case_from_our_account_and_settles(razorpayx):
    provider = client(razorpayx)
    fund_account = provider.register(SELLER)
    payout = provider.create_payout(an_order(fund_account.fund_account_id))
    assert payout.payout_id.startswith("pout_") and payout.status == "processing"
    assert payout.amount_paise == 125_000 and payout.reference_id == "pay_1"
    sent = razorpayx.sandbox.engine.payouts[payout.payout_id]
    assert (sent.amount, sent.mode, sent.notes) == (125_000, "IMPS", {"seller": "usr_seller_1"})
    assert razorpayx.state()["calls"][-1]["idempotency_key"] == "payout-pay_1"
    settled = razorpayx.wait_for_status(payout.payout_id, "processed")
    fetched = provider.fetch_payout(payout.payout_id)
    assert fetched.status == "processed" and fetched.utr == settled["utr"] and fetched.utr


@pytest.mark.parametrize(("kind", "status"), [("5xx", 503), ("429", 429)])
def test_5xx_and_429_are_unavailable(razorpayx, kind, status):
    provider = client(razorpayx)
    razorpayx.post("faults", {"kind": kind, "count": 1, "status": status})
    with pytest.raises(ProviderUnavailable) as raised:
        provider.register(SELLER)
    assert raised.value.status == status
    assert provider.register(SELLER).fund_account_id


def test_a_connection_refused_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = RazorpayX(f"http://127.0.0.1:{port}/v1", lambda: CREDENTIALS, timeout=(1.0, 1.0))
    with pytest.raises(ProviderUnavailable):
        provider.fetch_payout("pout_00000000000001")


def test_a_timeout_that_still_created_is_retried_with_the_same_key_into_one_payout(razorpayx):
    provider = client(razorpayx)
    order = an_order(provider.register(SELLER).fund_account_id)
    razorpayx.post("faults", {"kind": "timeout", "count": 1, "path": "/payouts", "method": "POST",
                              "delay_seconds": 1.5, "then": "process"})
    with pytest.raises(ProviderUnavailable, match="timed out"):
        provider.create_payout(order)
    # what the worker's redelivery does: the same order, so the same key
    retried = provider.create_payout(order)
    payouts = razorpayx.state()["payouts"]
    assert len(payouts) == 1 and payouts[0]["id"] == retried.payout_id
    assert [c["idempotency_key"] for c in razorpayx.state()["calls"] if c["path"] == "/payouts"] == \
        ["payout-pay_1", "payout-pay_1"]


def test_a_5xx_that_still_created_is_retried_into_the_same_payout(razorpayx):
    provider = client(razorpayx)
    order = an_order(provider.register(SELLER).fund_account_id)
    razorpayx.post("faults", {"kind": "5xx", "count": 1, "path": "/payouts", "then": "process"})
    with pytest.raises(ProviderUnavailable):
        provider.create_payout(order)
    assert provider.create_payout(order).payout_id == razorpayx.state()["payouts"][0]["id"]
    assert len(razorpayx.state()["payouts"]) == 1


def test_the_same_key_with_another_order_is_rejected(razorpayx):
    provider = client(razorpayx)
    order = an_order(provider.register(SELLER).fund_account_id)
    provider.create_payout(order)
    with pytest.raises(ProviderRejected) as raised:
        provider.create_payout(order.model_copy(update={"amount_paise": 99_000}))
    assert raised.value.status == 400 and raised.value.code == "BAD_REQUEST_ERROR"
    assert raised.value.field == "X-Payout-Idempotency"
    assert len(razorpayx.state()["payouts"]) == 1


def test_validation_errors_are_rejections_naming_the_field(razorpayx):
    provider = client(razorpayx)
    bad_ifsc = SELLER.model_copy(update={"destination": BankAccount(holder_name="Asha Rao", ifsc="HDFC001",
                                                                    account_number="50100123456789")})
    with pytest.raises(ProviderRejected) as raised:
        provider.register(bad_ifsc)
    assert (raised.value.status, raised.value.field) == (400, "ifsc") and raised.value.description
    with pytest.raises(ProviderRejected) as raised:
        provider.create_payout(an_order("fa_doesnotexist0000"))
    assert raised.value.field == "fund_account_id"
    upi_only = provider.register(SELLER.model_copy(update={"destination": UpiAddress(address="asha@okicici")}))
    with pytest.raises(ProviderRejected) as raised:
        provider.create_payout(an_order(upi_only.fund_account_id, idempotency_key="payout-pay_2"))
    assert raised.value.field == "mode"


def test_not_enough_balance_without_queueing_is_a_rejection(razorpayx):
    provider = client(razorpayx)
    fund_account = provider.register(SELLER)
    razorpayx.post("balance", {"set": 1_000})
    with pytest.raises(ProviderRejected, match="balance"):
        provider.create_payout(an_order(fund_account.fund_account_id, queue_if_low_balance=False))
    queued = provider.create_payout(an_order(fund_account.fund_account_id, idempotency_key="payout-pay_1-q"))
    assert queued.status == "queued" and queued.status_reason == "low_balance"


def test_a_queued_payout_is_cancelled_and_a_processing_one_is_not(razorpayx):
    provider = client(razorpayx)
    fund_account = provider.register(SELLER)
    razorpayx.post("balance", {"set": 0})
    queued = provider.create_payout(an_order(fund_account.fund_account_id))
    cancelled = provider.cancel_payout(queued.payout_id)
    assert cancelled.status == "cancelled" and cancelled.failure_reason
    razorpayx.post("balance", {"set": 10_000_000})
    live = provider.create_payout(an_order(fund_account.fund_account_id, idempotency_key="payout-pay_1-b"))
    with pytest.raises(ProviderRejected) as raised:
        provider.cancel_payout(live.payout_id)
    assert raised.value.status == 400
    assert provider.fetch_payout(queued.payout_id).status == "cancelled"


def test_an_unknown_payout_is_a_rejection_and_odd_ids_never_leave(razorpayx):
    provider = client(razorpayx)
    with pytest.raises(ProviderRejected):
        provider.fetch_payout("pout_doesnotexist000")
    with pytest.raises(ValueError):
        provider.fetch_payout("../contacts")


def test_wrong_keys_and_an_address_off_the_allow_list_are_configuration_problems(razorpayx):
    wrong = CREDENTIALS.model_copy(update={"key_secret": SecretStr("wrong")})
    with pytest.raises(ProviderRejected) as raised:
        client(razorpayx, wrong).register(SELLER)
    assert raised.value.status == 401 and raised.value.configuration_problem
    razorpayx.post("config", {"allowed_ips": ["203.0.113.7"]})
    with pytest.raises(ProviderRejected) as raised:
        client(razorpayx).register(SELLER)
    assert raised.value.status == 403 and raised.value.configuration_problem


def test_the_sandboxs_webhooks_verify_and_parse_with_our_webhook_module(razorpayx):
    provider = client(razorpayx)
    fund_account = provider.register(SELLER)
    with ScriptedReceiver() as receiver:
        razorpayx.post("config", {"webhook_url": receiver.url})
        payout = provider.create_payout(an_order(fund_account.fund_account_id))
        deliveries = receiver.wait_for(3)
    parsed = []
    for delivery in deliveries:
        assert verify_signature(delivery.body, delivery.headers["x-razorpay-signature"], WEBHOOK_SECRET)
        webhook = parse_payout_webhook(delivery.body, delivery.headers["x-razorpay-event-id"])
        assert isinstance(webhook, PayoutWebhook)
        parsed.append(PayoutWebhook.model_validate_json(webhook.model_dump_json()))
    assert [w.event for w in parsed] == ["payout.initiated", "payout.updated", "payout.processed"]
    assert {w.payout.payout_id for w in parsed} == {payout.payout_id}
    assert parsed[-1].payout.status == "processed" and parsed[-1].payout.utr
    assert parsed[-1].event_id == deliveries[-1].headers["x-razorpay-event-id"]
