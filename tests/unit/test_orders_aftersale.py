"""The after-PAID decisions (bazaar.orders.aftersale) as pure functions: scans only move forward,
each new scan is kept once, admin overrides follow the transition table, refunds never exceed
what was paid and reuse their id until submitted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.identity.domain import AuditAction
from bazaar.money import Paise
from bazaar.orders import aftersale
from bazaar.orders.aftersale import Admin, RefundExceedsPaid, RefundInProgress
from bazaar.orders.domain import (
    TRANSITIONS, HistoryEntry, InvalidTransition, Order, OrderLine, OrderStatus, RefundState, ShipmentRecord,
    ShippingAddress,
)
from bazaar.shipping import order_changes
from bazaar.shipping.tracking import TrackingScan

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
S = OrderStatus
ADMIN = Admin("usr_ADMIN", "req-1", "because")
ids = iter(range(10**6))


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(ids)}"


def order(status: OrderStatus, **changes) -> Order:
    base = Order("ord_1", "usr_C", status, (OrderLine("prd_1", "var_1", "SKU", "T", Paise(50_000), 2),),
                 ShippingAddress("A", "9876543210", "l1", "Pune", "MH", "411001"), NOW, NOW,
                 NOW + timedelta(minutes=15), history=(HistoryEntry(NOW, None, S.PAYMENT_PENDING, "x"),))
    return replace(base, **changes)


def scan(label: str) -> TrackingScan:
    return TrackingScan(label=label)


def test_every_shipping_status_is_reachable_only_after_payment():
    assert S.SHIPMENT_CREATED not in TRANSITIONS[S.PAYMENT_PENDING]
    assert {S.PAID, S.SHIPMENT_FAILED} == aftersale.SHIPPABLE
    assert TRANSITIONS[S.REFUNDED] == {}


def test_a_shipment_is_recorded_once():
    record = ShipmentRecord(1, 2, "AWB1")
    change = order_changes.shipment_created(order(S.PAID), record, NOW)
    assert change.transition.to_status == S.SHIPMENT_CREATED and change.amendment.shipment == record
    assert order_changes.shipment_created(order(S.SHIPMENT_CREATED, shipment=record), record, NOW) is None


def test_scans_move_forward_only_and_each_is_kept_once():
    shipped = order(S.IN_TRANSIT, shipment=ShipmentRecord(1, 2, "AWB1"))
    forward = order_changes.apply_scan(shipped, scan("OUT FOR DELIVERY"), "k1", NOW, known=True)
    assert forward.transition.to_status == S.OUT_FOR_DELIVERY and forward.amendment.scan_key == "k1"
    late = order_changes.apply_scan(replace(shipped, status=S.OUT_FOR_DELIVERY), scan("IN TRANSIT"), "k2", NOW, known=True)
    assert late.transition.to_status == S.OUT_FOR_DELIVERY and "unchanged" in late.transition.reason
    assert order_changes.apply_scan(replace(shipped, scan_keys=frozenset({"k1"})), scan("DELIVERED"), "k1", NOW,
                                known=True) is None
    unknown = order_changes.apply_scan(shipped, scan("TELEPORTED"), "k3", NOW, known=False)
    assert unknown.transition.to_status == S.IN_TRANSIT and "unknown" in unknown.transition.reason
    done = order(S.DELIVERED)
    assert order_changes.apply_scan(done, scan("RTO INITIATED"), "k4", NOW, known=True).transition.to_status == S.DELIVERED


@pytest.mark.parametrize("status", [S.PAYMENT_PENDING, S.PAID, S.DELIVERED, S.REFUNDED])
def test_mark_delivered_only_from_a_moving_shipment(status):
    with pytest.raises(InvalidTransition):
        aftersale.mark_delivered(order(status), ADMIN, NOW, new_id)
    change = aftersale.mark_delivered(order(S.NDR), ADMIN, NOW, new_id)
    assert change.amendment.audit.action == AuditAction.ORDER_MARKED_DELIVERED
    assert change.amendment.audit.reason == "because" and change.amendment.audit.target_id == "ord_1"


def test_retry_only_where_the_job_may_still_ship():
    assert aftersale.retry_shipment(order(S.SHIPMENT_FAILED), ADMIN, NOW, new_id).transition.to_status == \
        S.SHIPMENT_FAILED
    with pytest.raises(InvalidTransition):
        aftersale.retry_shipment(order(S.SHIPMENT_CREATED), ADMIN, NOW, new_id)


def test_refunds_are_capped_by_the_total_and_reuse_an_unsent_id():
    delivered = order(S.DELIVERED)
    first = aftersale.request_refund(delivered, Paise(30_000), ADMIN, NOW, new_id)
    refund = first.amendment.new_refund
    assert refund.merchant_refund_id == "ord_1-R01" and refund.state == RefundState.REQUESTED
    pending = replace(delivered, refunds=(refund,))
    assert aftersale.request_refund(pending, Paise(30_000), ADMIN, NOW, new_id) is refund
    with pytest.raises(RefundInProgress):
        aftersale.request_refund(pending, Paise(1_000), ADMIN, NOW, new_id)
    accepted = replace(delivered, refunds=(replace(refund, state=RefundState.PENDING),))
    with pytest.raises(RefundExceedsPaid):
        aftersale.request_refund(accepted, Paise(70_001), ADMIN, NOW, new_id)
    assert aftersale.request_refund(accepted, Paise(70_000), ADMIN, NOW, new_id).amendment.new_refund.sequence == 2
    with pytest.raises(InvalidTransition):
        aftersale.request_refund(order(S.IN_TRANSIT), Paise(1), ADMIN, NOW, new_id)


def test_completed_refunds_move_the_order_partially_then_fully():
    refund = aftersale.request_refund(order(S.DELIVERED), Paise(30_000), ADMIN, NOW, new_id).amendment.new_refund
    one = order(S.DELIVERED, refunds=(replace(refund, state=RefundState.PENDING),))
    partial = aftersale.refund_progressed(one, refund.merchant_refund_id, RefundState.COMPLETED, NOW)
    assert partial.transition.to_status == S.PARTIALLY_REFUNDED
    rest = replace(refund, sequence=2, merchant_refund_id="ord_1-R02", amount=Paise(70_000), state=RefundState.PENDING)
    two = order(S.PARTIALLY_REFUNDED, refunds=(replace(refund, state=RefundState.COMPLETED), rest))
    assert aftersale.refund_progressed(two, "ord_1-R02", RefundState.COMPLETED, NOW).transition.to_status == S.REFUNDED
    assert aftersale.refund_progressed(two, "ord_1-R01", RefundState.COMPLETED, NOW) is None  # a repeat
