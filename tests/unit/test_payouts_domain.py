"""A payout's one transition table and RazorpayX's word on it: forward only, duplicates and late
reports change nothing, another attempt's reports are ignored, and giving postings back happens
exactly when a payout stops holding them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bazaar.money import Paise
from bazaar.payouts.domain import (
    PROVIDER_STATUS,
    TRANSITIONS,
    Payout,
    PayoutStatus,
    PayoutTransitionRefused,
    PayoutTrigger,
    PostingRef,
    provider_report,
)

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
S = PayoutStatus


def _payout(status: PayoutStatus = S.PENDING, **facts) -> Payout:
    return Payout(payout_id="pay_01JD0000000000000000000000", payee="seller:usr_S", amount=Paise(10_000),
                  postings=(PostingRef("ord_1", "sale:ord_1:usr_S"),), status=status, fund_account_id="fa_1",
                  mode="IMPS", trigger=PayoutTrigger.SCHEDULE, requested_by="system", created_at=AT,
                  updated_at=AT, **facts)


def _report(payout: Payout, status: str, pout: str | None = "pout_1", utr: str | None = None):
    return provider_report(payout, status, AT + timedelta(minutes=1), provider_payout_id=pout, utr=utr,
                           failure_reason="bank said no" if status in ("failed", "reversed") else None,
                           response={"status": status})


def test_every_razorpayx_status_maps_onto_ours():
    assert set(PROVIDER_STATUS.values()) <= set(PayoutStatus)
    assert PROVIDER_STATUS["processed"] is S.COMPLETED and PROVIDER_STATUS["rejected"] is S.FAILED
    assert PROVIDER_STATUS["queued"] is S.PENDING and PROVIDER_STATUS["reversed"] is S.REVERSED
    assert TRANSITIONS[S.REVERSED] == frozenset()


def test_the_idempotency_key_is_the_payout_and_its_attempt():
    payout = _payout()
    assert payout.idempotency_key == f"{payout.payout_id}-1"
    assert 4 <= len(payout.idempotency_key) <= 36


def test_a_create_answer_records_the_provider_payout_and_moves_forward():
    change = _report(_payout(), "processing")

    assert change is not None and change.after.status is S.PROCESSING
    assert change.after.provider_payout_id == "pout_1" and change.after.version == 2
    assert not change.releases_postings


def test_queued_at_razorpayx_stays_pending_but_records_the_news():
    change = _report(_payout(), "queued")

    assert change is not None and change.after.status is S.PENDING and change.after.provider_status == "queued"
    assert _report(change.after, "queued") is None  # the same news again


def test_completed_records_the_utr_and_when():
    processing = _report(_payout(), "processing").after  # type: ignore[union-attr]
    change = _report(processing, "processed", utr="UTR123")

    assert change is not None and change.after.status is S.COMPLETED and change.after.utr == "UTR123"
    assert change.after.processed_at is not None


def test_late_and_duplicate_reports_change_nothing():
    done = _payout(S.COMPLETED, provider_payout_id="pout_1", provider_status="processed", utr="UTR1")

    assert _report(done, "processing") is None
    assert _report(done, "processed", utr="UTR1") is None
    assert _report(done, "queued") is None
    assert _report(done, "failed") is None


def test_a_bank_reversal_after_completion_gives_the_postings_back():
    done = _payout(S.COMPLETED, provider_payout_id="pout_1", provider_status="processed")

    change = _report(done, "reversed")

    assert change is not None and change.after.status is S.REVERSED and change.releases_postings
    assert _report(change.after, "processed") is None  # reversed is final


def test_a_definite_failure_gives_the_postings_back_with_the_reason():
    change = _report(_payout(), "failed")

    assert change is not None and change.after.status is S.FAILED and change.releases_postings
    assert change.after.failure_reason == "bank said no" and change.after.failed_at is not None


def test_reports_about_an_earlier_attempts_payout_are_ignored():
    retried = _payout(attempt=2, provider_payout_id="pout_2")

    assert _report(retried, "failed", pout="pout_1") is None


def test_a_failed_attempts_late_report_is_ignored_before_the_retry_is_answered():
    # Attempt 2 is made but RazorpayX's answer to it is not in yet: only the earlier id tells them apart.
    retried = _payout(attempt=2, earlier_provider_payout_ids=("pout_1",))

    assert _report(retried, "failed", pout="pout_1") is None
    change = _report(retried, "processing", pout="pout_2")
    assert change is not None and change.after.provider_payout_id == "pout_2"


def test_only_a_failed_payout_may_be_tried_again_and_that_reclaims_its_postings():
    failed = _payout(S.FAILED, failure_reason="x")
    change = failed.change(S.PENDING, AT, attempt=2)

    assert change.reclaims_postings and change.after.idempotency_key.endswith("-2")
    with pytest.raises(PayoutTransitionRefused):
        _payout(S.COMPLETED).change(S.PENDING, AT)


def test_the_description_routes_exactly_the_events_payouts_and_payees_act_on():
    from bazaar.notifications.payout_updates import NOTIFIED_PAYOUT_EVENTS
    from bazaar.payouts.events import PayoutEventType
    from bazaar.payouts.services import FOLLOWED_EVENTS
    from infra.description.contexts import notifications, payouts

    assert payouts.FOLLOWED_EVENTS == FOLLOWED_EVENTS
    assert notifications.NOTIFIED_PAYOUT_EVENTS == NOTIFIED_PAYOUT_EVENTS
    assert set(NOTIFIED_PAYOUT_EVENTS) == {t.value for t in PayoutEventType}  # every one is news to the payee
