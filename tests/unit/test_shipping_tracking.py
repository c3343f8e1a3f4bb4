"""The tracking table and the forward-only rule: Shiprocket's labels and both id schemes map to
our states, and no duplicate, late or out-of-order scan moves a shipment backwards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bazaar.shipping.tracking import RANK, TABLE, TERMINAL, ShipmentState, TrackingScan, classify, is_known, next_state

S = ShipmentState


def scan(label=None, a=None, b=None) -> TrackingScan:
    return TrackingScan(label=label, shipment_status_id=a, order_status_id=b)


def walk(labels, start=None):
    state = start
    for label in labels:
        state = next_state(state, scan(label))
    return state


@pytest.mark.parametrize(
    ("label", "state"),
    [
        ("AWB ASSIGNED", S.SHIPPED), ("PICKUP SCHEDULED", S.SHIPPED), ("OUT FOR PICKUP", S.SHIPPED),
        ("PICKED UP", S.IN_TRANSIT), ("SHIPPED", S.IN_TRANSIT), ("IN TRANSIT", S.IN_TRANSIT),
        ("REACHED AT DESTINATION HUB", S.IN_TRANSIT), ("REACHED DESTINATION HUB", S.IN_TRANSIT),
        ("OUT FOR DELIVERY", S.OUT_FOR_DELIVERY), ("DELIVERED", S.DELIVERED), ("UNDELIVERED", S.NDR),
        ("RTO INITIATED", S.RTO), ("RTO_OFD", S.RTO), ("rto-ndr", S.RTO), ("RTO IN INTRANSIT", S.RTO),
        ("RTO DELIVERED", S.RTO_DELIVERED), ("LOST", S.LOST), ("DAMAGED", S.LOST), ("CANCELED", S.CANCELLED),
        ("Cancelled", S.CANCELLED), ("  out_for   delivery ", S.OUT_FOR_DELIVERY),
    ],
)
def test_labels_in_any_spelling_map_to_our_state(label, state):
    assert classify(scan(label)) is state


def test_the_two_id_schemes_are_told_apart():
    # 18 is IN TRANSIT in scheme A but CANCELLATION REQUESTED in scheme B; 20 the other way round.
    assert classify(scan(a=18)) is S.IN_TRANSIT
    assert classify(scan(b=18)) is None
    assert classify(scan(b=20)) is S.IN_TRANSIT
    assert classify(scan(a=20)) is S.SHIPPED  # PICKUP EXCEPTION
    assert classify(scan(a=7)) is classify(scan(b=7)) is S.DELIVERED
    assert classify(scan(a=10)) is classify(scan(b=16)) is S.RTO_DELIVERED


def test_the_label_wins_over_an_id_from_the_other_scheme():
    # A webhook: current_status_id 20 (scheme B) next to the label IN TRANSIT.
    assert classify(scan("IN TRANSIT", a=None, b=20)) is S.IN_TRANSIT
    assert classify(scan("OUT FOR DELIVERY", a=18)) is S.OUT_FOR_DELIVERY


def test_every_row_with_ids_in_both_schemes_agrees_with_itself():
    for row in TABLE:
        by_label = classify(scan(row.label))
        if row.scheme_a is not None:
            assert classify(scan(a=row.scheme_a)) is by_label, row
        if row.scheme_b is not None:
            assert classify(scan(b=row.scheme_b)) is by_label, row


def test_unknown_labels_are_none_and_reported_unknown():
    teleported = scan("TELEPORTED TO MARS")
    assert classify(teleported) is None and not is_known(teleported)
    assert classify(scan("NA", a=None)) is None
    assert next_state(S.IN_TRANSIT, teleported) is S.IN_TRANSIT
    # known but not a state (a customer-return status): no move, but known
    assert is_known(scan("RETURN PICKUP QUEUED")) and classify(scan("RETURN PICKUP QUEUED")) is None


def test_the_happy_walk():
    labels = ["AWB ASSIGNED", "OUT FOR PICKUP", "PICKED UP", "SHIPPED", "IN TRANSIT",
              "REACHED AT DESTINATION HUB", "OUT FOR DELIVERY", "DELIVERED"]
    states = []
    state = None
    for label in labels:
        state = next_state(state, scan(label))
        states.append(state)
    assert states == [S.SHIPPED, S.SHIPPED, S.IN_TRANSIT, S.IN_TRANSIT, S.IN_TRANSIT, S.IN_TRANSIT,
                      S.OUT_FOR_DELIVERY, S.DELIVERED]


def test_ndr_then_rto_then_rto_delivered():
    state = walk(["PICKED UP", "OUT FOR DELIVERY", "UNDELIVERED"])
    assert state is S.NDR
    state = walk(["RTO INITIATED"], state)
    assert state is S.RTO
    state = walk(["RTO IN TRANSIT", "RTO_OFD", "REACHED BACK AT SELLER CITY"], state)
    assert state is S.RTO
    assert walk(["RTO DELIVERED"], state) is S.RTO_DELIVERED


def test_a_failed_attempt_can_be_followed_by_another_attempt():
    assert walk(["OUT FOR DELIVERY", "UNDELIVERED", "OUT FOR DELIVERY", "DELIVERED"]) is S.DELIVERED


def test_late_and_duplicate_scans_never_move_backwards():
    state = walk(["PICKED UP", "IN TRANSIT", "OUT FOR DELIVERY"])
    for late in ["IN TRANSIT", "PICKED UP", "AWB ASSIGNED", "SHIPPED", "OUT FOR DELIVERY"]:
        assert next_state(state, scan(late)) is S.OUT_FOR_DELIVERY


def test_once_returning_a_forward_scan_does_not_pull_it_back():
    state = walk(["OUT FOR DELIVERY", "UNDELIVERED", "RTO INITIATED"])
    for stray in ["OUT FOR DELIVERY", "DELIVERED", "UNDELIVERED", "IN TRANSIT"]:
        assert next_state(state, scan(stray)) is S.RTO


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_states_are_final(terminal):
    for row in TABLE:
        assert next_state(terminal, scan(row.label)) is terminal


labels = st.sampled_from([row.label for row in TABLE] + ["NOT A STATUS", "rto_ofd", "Delivered"])


@given(st.lists(labels, max_size=30))
def test_no_sequence_of_scans_ever_lowers_the_rank(sequence):
    state = None
    for label in sequence:
        after = next_state(state, scan(label))
        if state is not None:
            assert after is not None and RANK[after] >= RANK[state]
            if state in TERMINAL:
                assert after is state
        state = after


@given(st.lists(labels, max_size=20), st.lists(st.integers(min_value=1, max_value=3), min_size=20, max_size=20))
def test_a_scan_delivered_several_times_changes_nothing_more_than_once(sequence, repeats):
    duplicated = [label for label, times in zip(sequence, repeats) for _ in range(times)]
    assert walk(duplicated) == walk(sequence)
