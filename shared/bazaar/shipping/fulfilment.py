"""Shipping's use cases on paid orders: ship one through the provider, apply confirmed tracking
scans, and the admin's cancellation of a shipment. Each change to the order is a conditional
write through the order's transition table (bazaar.shipping.order_changes decides,
bazaar.orders.services.apply_change writes and decides again when somebody else was first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from pydantic import BaseModel, ConfigDict, Field

from bazaar.orders.aftersale import SHIPPABLE, Admin
from bazaar.orders.domain import Order, OrderNotFound, ShipmentRecord
from bazaar.orders.ports import AftersaleBook
from bazaar.orders.services import apply_change
from bazaar.platform.clock import Clock
from bazaar.platform.errors import BazaarError, DependencyUnavailable
from bazaar.platform.faults import crash_point
from bazaar.platform.observability import logger as log
from bazaar.platform.observability import metrics
from bazaar.shipping import order_changes
from bazaar.shipping.domain import (
    Address,
    Parcel,
    ProviderUnavailable,
    ShipmentItem,
    ShipmentRequest,
    ShippingProviderError,
    TrackingConfirmation,
    TrackingEvent,
)
from bazaar.shipping.ports import ShippingProvider
from bazaar.shipping.services import confirm_tracking, ship_order

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


def ship_paid_order(order_id: str, orders: AftersaleBook, provider: ShippingProvider, now: Clock,
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
    crash_point("shipment.created_at_shiprocket")
    record = ShipmentRecord(provider_order_id=outcome.provider_order_id, shipment_id=outcome.shipment_id,
                            awb=outcome.awb, courier_name=outcome.courier_name,
                            pickup_scheduled_date=outcome.pickup_scheduled_date)
    return ShipmentJobResult(apply_change(orders, order_id, lambda o: order_changes.shipment_created(o, record, now())),
                             "shipped")


def apply_tracking(confirmation: TrackingConfirmation, orders: AftersaleBook, now: Clock) -> Order | None:
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


def cancel_shipment(order_id: str, admin: Admin, orders: AftersaleBook, provider: ShippingProvider, now: Clock,
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


class ShipmentJob(BaseModel):
    """A message on `shipments`: an OrderPaid event relayed from the outbox, or an admin's retry.
    Only the order id matters; the job reads the order."""

    model_config = ConfigDict(extra="ignore")

    order_id: str = Field(min_length=1, max_length=64)


def run_shipment_job(job: ShipmentJob, attempt: int, jobs) -> ShipmentJobResult:
    """One delivery of a shipment job (`jobs`: bazaar.shipping.wiring.ShipmentJobs). A provider
    failure is raised so SQS retries it; the last attempt first marks the order SHIPMENT_FAILED."""
    last = attempt >= jobs.max_attempts
    try:
        result = ship_paid_order(job.order_id, jobs.orders, jobs.provider, jobs.clock,
                                 contact_email=jobs.contact_email, last_attempt=last)
    except ShippingProviderError as error:
        log.warning("shipping failed; " + ("out of retries: SHIPMENT_FAILED, message goes to the DLQ" if last
                                           else "SQS will retry"), extra={
            "order_id": job.order_id, "error": type(error).__name__, "message": error.message,
            "provider_status": error.status, "provider_answer": error.details, "attempt": attempt,
            "max_receive_count": jobs.max_attempts,
        })
        metrics.add_metric(name="ShipmentAttemptFailed", unit="Count", value=1)
        raise
    order = result.order
    log.info("shipment job done", extra={"order_id": job.order_id, "outcome": result.outcome, "attempt": attempt,
                                         "status": order.status if order else None,
                                         "awb": order.shipment.awb if order and order.shipment else None})
    return result


def follow_scan(event: TrackingEvent, fulfilment) -> Order | None:
    """A webhook scan (`fulfilment`: bazaar.shipping.wiring.Fulfilment): re-read from the track API,
    then applied to its order. None: not one of our AWBs, or no status yet (logged, nothing changes;
    retrying would not make it ours)."""
    confirmation = confirm_tracking(event, fulfilment.provider)
    details = {"awb": confirmation.awb, "channel_order_id": confirmation.channel_order_id,
               "state": confirmation.state, "label": confirmation.label, "known_label": confirmation.known_label,
               "webhook_label": event.label, "scans": len(confirmation.scans)}
    order = apply_tracking(confirmation, fulfilment.orders, fulfilment.clock)
    if order is None:
        log.warning("tracking scan for no order of ours, or with no status yet; ignored", extra=details)
        metrics.add_metric(name="TrackingScanIgnored", unit="Count", value=1)
        return None
    log.info("tracking applied", extra={**details, "order_id": order.order_id, "order_status": order.status})
    return order
