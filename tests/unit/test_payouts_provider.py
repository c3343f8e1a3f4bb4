"""The payouts port's own rules: destinations, masks, payout orders and the entity mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bazaar.payouts.provider import (
    BankAccount,
    PayoutOrder,
    ProviderPayout,
    ProviderRejected,
    UpiAddress,
    destination_errors,
    is_valid_account_number,
    is_valid_ifsc,
    is_valid_vpa,
    masked,
    payout_from_entity,
)


def an_order(**overrides) -> PayoutOrder:
    fields = {"fund_account_id": "fa_1", "amount_paise": 10_000, "mode": "IMPS", "reference_id": "pay_1",
              "narration": "Bazaar payout", "idempotency_key": "b7d6a1f0-2a1c-4a63-9b59-0c3f3c1f1e11", **overrides}
    return PayoutOrder(**fields)


@pytest.mark.parametrize(("ifsc", "valid"), [
    ("HDFC0001234", True), ("SBIN0ABC123", True), ("hdfc0001234", False), ("HDFC1001234", False),
    ("HDFC000123", False), ("HDFC00012345", False), ("HD1C0001234", False),
])
def test_ifsc(ifsc, valid):
    assert is_valid_ifsc(ifsc) is valid


@pytest.mark.parametrize(("number", "valid"), [
    ("12345", True), ("50100123456789", True), ("ABC123456", True), ("9" * 35, True),
    ("1234", False), ("9" * 36, False), ("1234 5678", False), ("1234-5678", False),
])
def test_account_number_follows_the_providers_rule(number, valid):
    assert is_valid_account_number(number) is valid


@pytest.mark.parametrize(("vpa", "valid"), [
    ("asha@okicici", True), ("asha.rao-1_x@ybl", True), ("a@ybl", False), ("asha@", False),
    ("asha@ok1", False), ("asha rao@okicici", False), ("ashaokicici", False),
])
def test_vpa(vpa, valid):
    assert is_valid_vpa(vpa) is valid


def test_destination_errors_name_each_bad_field():
    assert destination_errors(BankAccount(holder_name="Asha", ifsc="HDFC0001234", account_number="123456789")) == {}
    bad = destination_errors(BankAccount(holder_name=" ", ifsc="HDFC", account_number="12"))
    assert set(bad) == {"holder_name", "ifsc", "account_number"}
    assert destination_errors(UpiAddress(address="asha@okicici")) == {}
    assert set(destination_errors(UpiAddress(address="nope"))) == {"address"}


def test_masks_show_little_and_not_the_length():
    assert masked(BankAccount(holder_name="A", ifsc="HDFC0001234", account_number="50100123456789")) == "XXXXXX6789"
    assert masked(BankAccount(holder_name="A", ifsc="HDFC0001234", account_number="98766789")) == "XXXXXX6789"
    assert masked(UpiAddress(address="abhishek@okicici")) == "ab***@okicici"
    assert masked(UpiAddress(address="ab@ybl")) == "a***@ybl"


def test_a_payout_order_checks_the_providers_rules():
    assert an_order(mode="neft").mode == "NEFT"
    for bad in ({"amount_paise": 99}, {"mode": "CHEQUE"}, {"purpose": "gift"}, {"narration": "x" * 31},
                {"narration": "paid!"}, {"idempotency_key": "abc"}, {"idempotency_key": "k" * 37},
                {"idempotency_key": "key/1"}, {"reference_id": "r" * 41}):
        with pytest.raises(ValidationError):
            an_order(**bad)
    order = an_order()
    assert order.purpose == "payout" and order.queue_if_low_balance is True and order.notes == {}


def test_an_entity_maps_to_a_provider_payout():
    payout = payout_from_entity({"id": "pout_1", "status": "queued", "amount": 500, "utr": None,
                                 "status_details": {"description": "Low balance", "reason": "low_balance"}})
    assert payout.status_reason == "low_balance" and payout.failure_reason is None
    assert (payout.fees_paise, payout.tax_paise, payout.reference_id) == (0, 0, None)
    assert ProviderPayout.model_validate_json(payout.model_dump_json()) == payout
    with pytest.raises(ValueError, match="amount"):
        payout_from_entity({"id": "pout_1", "status": "queued", "amount": 5.0})


def test_a_rejection_says_whether_an_operator_must_act():
    assert ProviderRejected("no", status=403).configuration_problem
    assert ProviderRejected("no", status=401).configuration_problem
    assert not ProviderRejected("no", status=400, field="amount").configuration_problem
