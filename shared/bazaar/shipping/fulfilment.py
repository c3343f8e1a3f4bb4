"""Shipping's use cases on paid orders: ship one through the provider, apply confirmed tracking
scans, and the admin's cancellation of a shipment. Each change to the order is a conditional
write through the order's transition table (bazaar.shipping.order_changes decides,
bazaar.orders.services.apply_change writes and decides again when somebody else was first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from bazaar.orders.aftersale import SHIPPABLE, Admin
from bazaar.orders.domain import Order, OrderNotFound, ShipmentRecord
from bazaar.orders.ports import AftersaleBook
from bazaar.orders.services import apply_change
from bazaar.platform.errors import BazaarError, DependencyUnavailable
from bazaar.platform.observability import logger as log
from bazaar.shipping import order_changes
from bazaar.shipping.domain import (
    Address,
    Parcel,
    ProviderUnavailable,
    ShipmentItem,
    ShipmentRequest,
    ShippingProviderError,
    TrackingConfirmation,
)
from bazaar.shipping.ports import ShippingProvider
from bazaar.shipping.services import ship_order

# The catalogue holds no dimensions or weights yet: every order ships as one standard box.
STANDARD_BOX = Parcel(length_cm=30, breadth_cm=20, height_cm=10, weight_grams=500)
NewId = Callable[[str], str]


def shipment_request(order: Order, contact_email: str) -> ShipmentRequest:
    """What Shiprocket is asked to carry. The email is the shop's (Bazaar notifies customers
    itself; Shiprocket only requires one)."""
    to = order.shipping_address
    return ShipmentRequest(
        channel_order_id=order.order_id,
        order_date=order.created_at.date(),
        ship_to=Address(name=to.name[:80], line1=to.line1, line2=to.line2 or None, city=to.city, state=to.state,
                        pincode=to.pincode, email=contact_email, phone=to.phone),
        items=tuple(ShipmentItem(sku=l.sku, name=l.title[:200], units=l.quantity, unit_price_paise=l.unit_price.amount)
                    for l in order.lines),
        parcel=STANDARD_BOX,
        sub_total_paise=order.total.amount,
    )


@dataclass(frozen=True)
class ShipmentJobResult:
    order: Order | None
    outcome: str  # shipped | already_done | unknown_order | not_shippable | failed_for_good


def ship_paid_order(order_id: str, orders: AftersaleBook, provider: ShippingProvider, now: Callable[[], datetime],
                    *, contact_email: str, last_attempt: bool) -> ShipmentJobResult:
    """Runs one shipment job. Raises ShippingProviderError when the provider failed, so the
    caller fails the SQS record (and SQS retries it); on the last attempt the order is first
    marked SHIPMENT_FAILED, so when the message lands in the DLQ the order already says so."""
    order = orders.get(order_id)
    if order is None:
        return ShipmentJobResult(None, "unknown_order")
    if order.shipment is not None:
        return ShipmentJobResult(order, "already_done")
    if order.status not in SHIPPABLE:
        return ShipmentJobResult(order, "not_shippable")
    try:
        request = shipment_request(order, contact_email)
    except ValidationError as error:
        # Our data will not be better on the next try: fail it now, for an admin to look at.
        why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        failed = apply_change(orders, order_id, lambda o: order_changes.shipment_failed(o, now(), f"not shippable: {why}"))
        return ShipmentJobResult(failed, "failed_for_good")
    try:
        outcome = ship_order(request, provider)
    except ShippingProviderError as error:
        if last_attempt:
            answer = error.message  # bound here: the lambda must not reach for the except variable
            apply_change(orders, order_id, lambda o: order_changes.shipment_failed(o, now(), answer))
        raise
    record = ShipmentRecord(provider_order_id=outcome.provider_order_id, shipment_id=outcome.shipment_id,
                            awb=outcome.awb, courier_name=outcome.courier_name,
                            pickup_scheduled_date=outcome.pickup_scheduled_date)
    return ShipmentJobResult(apply_change(orders, order_id, lambda o: order_changes.shipment_created(o, record, now())),
                             "shipped")


def apply_tracking(confirmation: TrackingConfirmation, orders: AftersaleBook, now: Callable[[], datetime]) -> Order | None:
    """A scan the track API confirmed, applied to its order. None: the AWB is not one of ours,
    or the provider has nothing to say yet (logged by the caller, nothing changes)."""
    order_id = orders.order_for_awb(confirmation.awb)
    current = confirmation.current
    if order_id is None or current is None:
        return None
    times = [s.at for s in confirmation.scans if s.at is not None]
    key = order_changes.scan_key(current.label, current.shipment_status_id, max(times) if times else None)
    return apply_change(orders, order_id,
                        lambda o: order_changes.apply_scan(o, current, key, now(), known=confirmation.known_label))


class ShippingProviderFailed(BazaarError):
    code = "SHIPPING_PROVIDER_ERROR"


def cancel_shipment(order_id: str, admin: Admin, orders: AftersaleBook, provider: ShippingProvider, now,
                    new_id: NewId) -> Order:
    order = orders.get(order_id)
    if order is None:
        raise OrderNotFound()
    order_changes.cancel_shipment(order, admin, now(), new_id)  # refuses (409) before the provider is asked
    try:
        provider_order_id = order.shipment.provider_order_id if order.shipment else None
        if provider_order_id is None:  # failed half-way: the provider may hold an order without AWB
            found = provider.find_order_by_channel_order_id(order_id)
            provider_order_id = found.provider_order_id if found and not found.cancelled else None
        if provider_order_id is not None:
            provider.cancel(provider_order_id)
    except ProviderUnavailable as error:
        raise DependencyUnavailable(f"Shiprocket did not answer ({error.message}); retry.") from None
    except ShippingProviderError as error:
        log.warning("shipment cancel refused", extra={"order_id": order_id, "provider_answer": error.details,
                                                      "message": error.message})
        raise ShippingProviderFailed(f"Shiprocket refused the cancellation: {error.message}") from None
    return apply_change(orders, order_id, lambda o: order_changes.cancel_shipment(o, admin, now(), new_id))
