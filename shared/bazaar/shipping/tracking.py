"""Where a parcel is, in our words, and how Shiprocket's scans move it.

Shiprocket names a scan by an upper-case label and by an id from one of two id spaces that share
labels (docs/providers/shiprocket.md, 'Status labels and ids'): scheme A (tracking `shipment_status`,
`scans[].sr-status`, webhook `shipment_status_id`) and scheme B (order `status_code`, webhook
`current_status_id`). `TABLE` is the one place that says which label, in either scheme, means which of our
states. Everything else (the id lookups, `classify`, `next_state`) is derived from it.

A shipment only ever moves forward: `next_state` ignores a scan that ranks below where the
shipment already is, and nothing moves a shipment out of a terminal state. Duplicate, late and
out-of-order scans therefore change nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ShipmentState(StrEnum):
    SHIPPED = "SHIPPED"  # handed to Shiprocket with an AWB; the courier has not picked it up yet
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    NDR = "NDR"  # a delivery attempt failed (non-delivery report); the courier may try again
    RTO = "RTO"  # returning to the seller
    RTO_DELIVERED = "RTO_DELIVERED"
    LOST = "LOST"
    CANCELLED = "CANCELLED"


S = ShipmentState

# How far along a shipment is. A scan that ranks lower than the current state is a late or
# out-of-order one and is ignored. OUT_FOR_DELIVERY and NDR share a rank because a failed attempt
# is followed by another attempt (NDR -> OUT_FOR_DELIVERY) as often as the reverse. The return
# branch ranks above DELIVERED so that, once a parcel is going back, a stray forward scan
# (OUT FOR DELIVERY, DELIVERED) cannot pull it onto the forward branch again.
RANK: dict[ShipmentState, int] = {
    S.SHIPPED: 1,
    S.IN_TRANSIT: 2,
    S.OUT_FOR_DELIVERY: 3,
    S.NDR: 3,
    S.DELIVERED: 4,
    S.RTO: 5,
    S.RTO_DELIVERED: 6,
    S.LOST: 9,
    S.CANCELLED: 9,
}

TERMINAL: frozenset[ShipmentState] = frozenset({S.DELIVERED, S.RTO_DELIVERED, S.LOST, S.CANCELLED})


@dataclass(frozen=True)
class Label:
    """One Shiprocket status: its label, its id in scheme A and in scheme B (None where that
    scheme has no such status), other spellings seen in payloads, and our state (None: a status
    we know but that does not move a shipment, e.g. warehouse steps or customer returns)."""

    label: str
    scheme_a: int | None
    scheme_b: int | None
    state: ShipmentState | None
    aliases: tuple[str, ...] = ()


# Choices that differ from the integrators' suggested buckets (docs/providers/shiprocket.md), and why:
# - NEW / INVOICED carry no AWB yet, so they are not SHIPPED (None).
# - CANCELLATION REQUESTED is only a request; a terminal CANCELLED on a request that Shiprocket
#   then refuses would strand the parcel, so it moves nothing (None). CANCELED follows if it happens.
# - REACHED BACK AT SELLER CITY is still on the way back (RTO), not RTO_DELIVERED, which is terminal.
# - Shiprocket Fulfilment warehouse steps (59-72) and customer-return statuses (RETURN *) are not
#   part of a forward shipment's life here: known, None.
TABLE: tuple[Label, ...] = (
    Label("NEW", None, 1, None),
    Label("INVOICED", None, 2, None),
    Label("READY TO SHIP", None, 3, S.SHIPPED),
    Label("AWB ASSIGNED", 1, None, S.SHIPPED),
    Label("LABEL GENERATED", 2, None, S.SHIPPED),
    Label("PICKUP SCHEDULED", 3, 4, S.SHIPPED, aliases=("PICKUP GENERATED", "PICKUP SCHEDULED/GENERATED")),
    Label("PICKUP QUEUED", 4, 12, S.SHIPPED, aliases=("PICKUP QUEUE",)),
    Label("MANIFEST GENERATED", 5, None, S.SHIPPED),
    Label("SHIPPED", 6, 6, S.IN_TRANSIT),
    Label("DELIVERED", 7, 7, S.DELIVERED),
    Label("CANCELED", 8, 5, S.CANCELLED, aliases=("CANCELLED",)),
    Label("RTO INITIATED", 9, 15, S.RTO),
    Label("RTO DELIVERED", 10, 16, S.RTO_DELIVERED),
    Label("PENDING", 11, None, None),
    Label("LOST", 12, 33, S.LOST),
    Label("PICKUP ERROR", 13, 14, S.SHIPPED),
    Label("RTO ACKNOWLEDGED", 14, 17, S.RTO_DELIVERED),
    Label("PICKUP RESCHEDULED", 15, 13, S.SHIPPED),
    Label("CANCELLATION REQUESTED", 16, 18, None),
    Label("OUT FOR DELIVERY", 17, 19, S.OUT_FOR_DELIVERY),
    Label("IN TRANSIT", 18, 20, S.IN_TRANSIT),
    Label("OUT FOR PICKUP", 19, 34, S.SHIPPED),
    Label("PICKUP EXCEPTION", 20, 35, S.SHIPPED),
    Label("UNDELIVERED", 21, 36, S.NDR),
    Label("DELAYED", 22, 37, S.IN_TRANSIT),
    Label("PARTIAL DELIVERED", 23, 38, S.DELIVERED),
    Label("DESTROYED", 24, 39, S.LOST),
    Label("DAMAGED", 25, 40, S.LOST),
    Label("FULFILLED", 26, 41, S.DELIVERED),
    Label("REACHED AT DESTINATION HUB", 38, 43, S.IN_TRANSIT, aliases=("REACHED DESTINATION HUB",)),
    Label("MISROUTED", 39, 44, S.IN_TRANSIT),
    Label("RTO NDR", 40, 46, S.RTO),
    Label("RTO OFD", 41, 45, S.RTO),
    Label("PICKED UP", 42, 51, S.IN_TRANSIT),
    Label("SELF FULFILLED", 43, 52, S.DELIVERED),
    Label("DISPOSED OFF", 44, 53, S.LOST),
    Label("CANCELLED BEFORE DISPATCHED", 45, 54, S.CANCELLED),
    Label("RTO IN TRANSIT", 46, 55, S.RTO, aliases=("RTO IN INTRANSIT",)),
    Label("QC FAILED", 47, None, None),
    Label("REACHED WAREHOUSE", 48, None, None),
    Label("CUSTOM CLEARED", 49, None, S.IN_TRANSIT),
    Label("IN FLIGHT", 50, None, S.IN_TRANSIT),
    Label("HANDOVER TO COURIER", 51, None, S.IN_TRANSIT),
    Label("SHIPMENT BOOKED", 52, None, S.SHIPPED),
    Label("IN TRANSIT OVERSEAS", 54, None, S.IN_TRANSIT),
    Label("CONNECTION ALIGNED", 55, None, S.IN_TRANSIT),
    Label("REACHED OVERSEAS WAREHOUSE", 56, None, S.IN_TRANSIT),
    Label("CUSTOM CLEARED OVERSEAS", 57, None, S.IN_TRANSIT),
    Label("BOX PACKING", 59, None, None),
    Label("FC ALLOCATED", 60, None, None),
    Label("PICKLIST GENERATED", 61, None, None),
    Label("READY TO PACK", 62, None, None),
    Label("PACKED", 63, None, None),
    Label("FC MANIFEST GENERATED", 67, None, None),
    Label("PROCESSED AT WAREHOUSE", 68, None, None),
    Label("HANDOVER EXCEPTION", 71, None, None),
    Label("PACKED EXCEPTION", 72, None, None),
    Label("RTO LOCK", 75, None, S.RTO),
    Label("UNTRACEABLE", 76, None, S.LOST),
    Label("ISSUE RELATED TO THE RECIPIENT", 77, None, S.NDR),
    Label("REACHED BACK AT SELLER CITY", 78, None, S.RTO),
    Label("EPAYMENT FAILED", None, 8, None),
    Label("RETURNED", None, 9, None),
    Label("UNMAPPED", None, 10, None),
    Label("UNFULFILLABLE", None, 11, None),
    Label("RETURN PENDING", None, 21, None),
    Label("RETURN INITIATED", None, 22, None),
    Label("RETURN PICKUP QUEUED", None, 23, None),
    Label("RETURN PICKUP ERROR", None, 24, None),
    Label("RETURN IN TRANSIT", None, 25, None),
    Label("RETURN DELIVERED", None, 26, None),
    Label("RETURN CANCELLED", None, 27, None),
    Label("RETURN PICKUP GENERATED", None, 28, None),
    Label("RETURN CANCELLATION REQUESTED", None, 29, None),
    Label("RETURN PICKUP CANCELLED", None, 30, None),
    Label("RETURN PICKUP RESCHEDULED", None, 31, None),
    Label("RETURN PICKED UP", None, 32, None),
    Label("ARCHIVED", None, 42, None),
    Label("RETURN OUT FOR PICKUP", None, 47, None),
    Label("RETURN OUT FOR DELIVERY", None, 48, None),
    Label("RETURN PICKUP EXCEPTION", None, 49, None),
    Label("RETURN UNDELIVERED", None, 50, None),
)


def normalise(label: str) -> str:
    """`rto_ofd`, `Out-For-Delivery `, `IN  TRANSIT` -> the table's spelling."""
    return re.sub(r"[\s_\-]+", " ", label).strip().upper()


_BY_LABEL: dict[str, Label] = {}
_BY_SCHEME_A: dict[int, Label] = {}
_BY_SCHEME_B: dict[int, Label] = {}
for _row in TABLE:
    for _spelling in (_row.label, *_row.aliases):
        assert normalise(_spelling) not in _BY_LABEL, f"label {_spelling!r} is in TABLE twice"
        _BY_LABEL[normalise(_spelling)] = _row
    if _row.scheme_a is not None:
        assert _row.scheme_a not in _BY_SCHEME_A, f"scheme A id {_row.scheme_a} is in TABLE twice"
        _BY_SCHEME_A[_row.scheme_a] = _row
    if _row.scheme_b is not None:
        assert _row.scheme_b not in _BY_SCHEME_B, f"scheme B id {_row.scheme_b} is in TABLE twice"
        _BY_SCHEME_B[_row.scheme_b] = _row


@dataclass(frozen=True)
class TrackingScan:
    """One scan as Shiprocket reported it. Ids are kept per scheme because the same number means
    different statuses in the two (18 is IN TRANSIT in A and CANCELLATION REQUESTED in B)."""

    label: str | None
    shipment_status_id: int | None = None  # scheme A
    order_status_id: int | None = None  # scheme B
    at: datetime | None = None
    location: str | None = None
    activity: str | None = None


def _row_for(scan: TrackingScan) -> Label | None:
    # The label first: it is the same in both schemes, the ids are not.
    if scan.label and normalise(scan.label) in _BY_LABEL:
        return _BY_LABEL[normalise(scan.label)]
    if scan.shipment_status_id is not None and scan.shipment_status_id in _BY_SCHEME_A:
        return _BY_SCHEME_A[scan.shipment_status_id]
    if scan.order_status_id is not None and scan.order_status_id in _BY_SCHEME_B:
        return _BY_SCHEME_B[scan.order_status_id]
    return None


def is_known(scan: TrackingScan) -> bool:
    """False for a status Shiprocket added that TABLE does not know yet: keep it, log it. A label
    the table does not know makes the scan unknown even if its id is known: the id may be the
    previous status's (the track API keeps `shipment_status` until it maps the new one)."""
    if scan.label and normalise(scan.label) not in _BY_LABEL:
        return False
    return _row_for(scan) is not None


def classify(scan: TrackingScan) -> ShipmentState | None:
    """Our state for a scan, or None when the scan does not say where the parcel is."""
    row = _row_for(scan)
    return row.state if row else None


def next_state(current: ShipmentState | None, scan: TrackingScan) -> ShipmentState | None:
    """Where a shipment in `current` is after `scan`: never backwards, never out of a terminal
    state, unchanged by a scan we cannot classify."""
    proposed = classify(scan)
    if proposed is None or proposed == current:
        return current
    if current is None:
        return proposed
    if current in TERMINAL:
        return current
    return proposed if RANK[proposed] >= RANK[current] else current
