"""A payout whose recording fails while DynamoDB is down, on a payouts stack of this module's own
(the return window 0 days, as tests/e2e's payouts stack): RazorpayX has accepted the payout when
the processor cannot record it, the message comes back with the same idempotency key until the
fault is over, and RazorpayX makes exactly one payout, which settles; the payee's ledger balances
and nothing rests in a DLQ."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import login
from tests.faults.test_aws_faults import REDELIVERY_SECONDS, Faults
from tests.payees import Control, Seller, assert_balanced
from tests.waiting import until

pytestmark = pytest.mark.slow

REDELIVERED_QUEUES = ("payment-events", "shipments", "payout-order-events", "payouts", "payout-webhooks")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    service = replace(SERVICE, settings={**SERVICE.settings, "RETURN_WINDOW_DAYS": "0",
                                         "PAYOUT_STATUS_POLL_AFTER_SECONDS": "0"})
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("payout-faults-state")), service).start()
    sqs = running.client("sqs")
    for queue in REDELIVERED_QUEUES:
        sqs.set_queue_attributes(QueueUrl=running.names.queue_url(queue),
                                 Attributes={"VisibilityTimeout": str(REDELIVERY_SECONDS)})
    yield running
    running.stop()


def test_a_payout_sent_but_not_recorded_during_an_outage_is_made_once_and_settles(stack):
    faults = Faults(stack)
    admin = login(stack.url, **stack.accounts["admin"])["access_token"]
    razorpayx = Control(stack.sandbox("razorpayx").url)
    seller = Seller(stack, admin)
    seller.register_account()
    seller.delivered_order()
    seller.settle()

    requested = seller.pay_now()
    assert requested.status_code == 200, requested.text
    # At once, before the processor (its first invocation: a cold start) has sent it: every
    # transaction on the payouts table fails for a while, so sending is followed by a record
    # that cannot be written.
    outage = faults.inject(service="dynamodb", operation="TransactWriteItems", resource="payouts", kind="5xx",
                           seconds=3 * REDELIVERY_SECONDS)
    until(lambda: faults.failed(outage) > 0, seconds=3 * REDELIVERY_SECONDS)

    payout_id = requested.json()["payout_id"]
    payout = seller.payout_settles(payout_id)
    assert len(razorpayx.payouts(payout_id)) == 1
    assert [p["payout_id"] for p in seller.payouts()] == [payout_id]
    balance = seller.balance()
    assert_balanced(balance)
    assert balance["paid_out_paise"] == payout["amount_paise"] and balance["available_paise"] == 0
    again = seller.pay_now()
    assert again.status_code == 409 and again.json()["error"]["code"] == "NOTHING_TO_PAY"
    dlqs = [stack.service.queue(q).dlq_name for q in REDELIVERED_QUEUES]
    sqs = stack.client("sqs")
    assert [sqs.get_queue_attributes(QueueUrl=stack.names.queue_url(d), AttributeNames=["ApproximateNumberOfMessages"])
            ["Attributes"]["ApproximateNumberOfMessages"] for d in dlqs] == ["0"] * len(dlqs)
