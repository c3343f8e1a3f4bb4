"""PhonePe's mandated polling ladder (docs/providers/phonepe.md, 'Status polling') as next-check times."""

from datetime import UTC, datetime, timedelta

from bazaar.payments.domain import StatusCheckPlan, merchant_order_id_for, order_id_for

START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
PLAN = StatusCheckPlan()


def _ladder(plan: StatusCheckPlan = PLAN) -> list[int]:
    at, seen = plan.first_check_at(START), []
    while at < plan.deadline(START):
        seen.append(int((at - START).total_seconds()))
        at = plan.next_check(START, at)
    return seen + [int((at - START).total_seconds())]


def test_checks_follow_the_mandated_schedule_until_the_timeout():
    ladder = _ladder()
    assert ladder[0] == 20  # first check 20 s after the start
    assert ladder[1:11] == list(range(23, 51, 3))  # every 3 s for 30 s
    assert ladder[11:21] == list(range(56, 111, 6))  # every 6 s for 60 s
    assert ladder[21:27] == list(range(120, 171, 10))  # every 10 s for 60 s
    assert ladder[27:29] == [200, 230]  # every 30 s for 60 s
    assert ladder[29:32] == [290, 350, 410]  # then every minute ...
    assert ladder[-1] == 1200  # ... the last one at the timeout, never after it
    assert ladder == sorted(set(ladder))


def test_a_late_run_takes_the_next_check_after_now_not_every_missed_one():
    late = START + timedelta(seconds=95)
    assert PLAN.next_check(START, late) == START + timedelta(seconds=98)
    assert PLAN.next_check(START, START + timedelta(hours=2)) == PLAN.deadline(START)
    assert PLAN.timed_out(START, START + timedelta(minutes=20)) and not PLAN.timed_out(START, START + timedelta(minutes=19))


def test_a_lowered_first_check_is_due_at_once():
    plan = StatusCheckPlan(first_check=timedelta(0))
    assert plan.first_check_at(START) == START
    assert plan.next_check(START, START) == START + timedelta(seconds=3)


def test_the_merchant_order_id_is_the_order_id_and_only_ours_map_back():
    order_id = "ord_01M83NAX24ZHAZ419PS54254PS"
    assert merchant_order_id_for(order_id) == order_id and order_id_for(order_id) == order_id
    assert len(merchant_order_id_for(order_id)) < 35  # v1's merchantTransactionId limit
    for foreign in ("ord_flow_123", "T123", "", None, "ord_01M83NAX24ZHAZ419PS54254PS#x"):
        assert order_id_for(foreign) is None
