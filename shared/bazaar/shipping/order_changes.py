"""What the shipping context's outcomes do to an order, in business terms. Pure Python.

A shipment created at the courier aggregator, a shipment job out of retries, a tracking scan the
provider confirmed, an admin cancelling the shipment: each asks the order for a change through
its one transition table (bazaar.orders.domain), with what else is written in the same
transaction (an `Amendment`: the shipment's ids, a scan's key, the audit entry)."""

from __future__ import annotations

from datetime import datetime

from bazaar.identity.domain import AuditAction
from bazaar.orders.aftersale import SHIPPABLE, Admin, Amendment, Change, audit_entry
from bazaar.orders.domain import TRANSITIONS, InvalidTransition, Order, OrderStatus, ShipmentRecord
from bazaar.shipping.tracking import RANK, ShipmentState, TrackingScan, next_state, normalise

S = OrderStatus

# The one mapping from a shipment's state (bazaar.shipping.tracking) to the order's status.
# The shipment's CANCELLED is the order's SHIPMENT_CANCELLED: the order's own CANCELLED means an
# unpaid order the customer gave up.
STATUS_FOR_SHIPMENT: dict[ShipmentState, OrderStatus] = {
    ShipmentState.SHIPPED: S.SHIPPED,
    ShipmentState.IN_TRANSIT: S.IN_TRANSIT,
    ShipmentState.OUT_FOR_DELIVERY: S.OUT_FOR_DELIVERY,
    ShipmentState.NDR: S.NDR,
    ShipmentState.DELIVERED: S.DELIVERED,
    ShipmentState.RTO: S.RTO,
    ShipmentState.RTO_DELIVERED: S.RTO_DELIVERED,
    ShipmentState.LOST: S.LOST,
    ShipmentState.CANCELLED: S.SHIPMENT_CANCELLED,
}
SHIPMENT_FOR_STATUS = {status: state for state, status in STATUS_FOR_SHIPMENT.items()}
assert set(STATUS_FOR_SHIPMENT) == set(RANK), "every shipment state needs an order status"

def shipment_created(order: Order, shipment: ShipmentRecord, at: datetime) -> Change | None:
    """The provider has the order with an AWB and a pickup. None: it was recorded already."""
    if order.shipment is not None or order.status not in SHIPPABLE:
        return None
    reason = f"shipment created: AWB {shipment.awb}" + (f" with {shipment.courier_name}" if shipment.courier_name else "")
    return Change(order.transition(S.SHIPMENT_CREATED, at, reason, actor="system:shipments",
                                   facts={"awb": shipment.awb, "courier_name": shipment.courier_name}),
                  Amendment(shipment=shipment, needs_attention=False))


def shipment_failed(order: Order, at: datetime, why: str) -> Change | None:
    """The job is out of retries. None: the order is already past it (shipped, or failed)."""
    if S.SHIPMENT_FAILED not in TRANSITIONS.get(order.status, {}):
        return None
    return Change(order.transition(S.SHIPMENT_FAILED, at, f"shipment failed after all retries: {why}"[:500],
                                   actor="system:shipments"),
                  Amendment(needs_attention=True))


def scan_key(label: str | None, status_id: int | None, latest_scan_at: datetime | None) -> str:
    return f"{normalise(label) if label else '?'}|{status_id if status_id is not None else '?'}|" \
           f"{latest_scan_at.isoformat() if latest_scan_at else '?'}"


def apply_scan(order: Order, scan: TrackingScan, key: str, at: datetime, *, known: bool) -> Change | None:
    """A scan the provider confirmed. It moves the order only forward (tracking.next_state on the
    shipment's rank, then the transition table); any scan not seen before is kept in the history,
    including one that moves nothing (late, duplicate in substance, unknown label)."""
    if key in order.scan_keys:
        return None
    current = SHIPMENT_FOR_STATUS.get(order.status)
    described = f"scan {scan.label or '?'}" + (f" (id {scan.shipment_status_id})" if scan.shipment_status_id else "")
    if not known:
        return Change(order.note(at, f"{described}: unknown status, kept; state unchanged"), Amendment(scan_key=key))
    proposed = next_state(current, scan)
    target = STATUS_FOR_SHIPMENT.get(proposed) if proposed is not None else None
    if target is not None and target != order.status and target in TRANSITIONS.get(order.status, {}):
        return Change(order.transition(target, at, described, actor="provider:shiprocket",
                                       facts={"awb": order.shipment.awb if order.shipment else None}),
                      Amendment(scan_key=key))
    return Change(order.note(at, f"{described}: state unchanged"), Amendment(scan_key=key))


def cancel_shipment(order: Order, admin: Admin, at: datetime, new_id) -> Change:
    if S.SHIPMENT_CANCELLED not in TRANSITIONS.get(order.status, {}):
        raise InvalidTransition(order.status, S.SHIPMENT_CANCELLED)
    return Change(order.transition(S.SHIPMENT_CANCELLED, at, f"admin cancelled the shipment: {admin.reason}",
                                   actor=f"admin:{admin.actor_id}"),
                  Amendment(needs_attention=False,
                            audit=audit_entry(admin, AuditAction.ORDER_SHIPMENT_CANCELLED, order,
                                         {"status": S.SHIPMENT_CANCELLED.value}, at, new_id)))
