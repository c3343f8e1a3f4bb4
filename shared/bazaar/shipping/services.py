"""Shipping use cases, run by the SQS workers. Every provider failure is raised: the worker fails
that one record, SQS delivers it again later, and a retry picks up where the last attempt got to,
because each step first asks the provider what already happened."""

from __future__ import annotations

from datetime import datetime

from bazaar.platform.edge import WebhookReply, WebhookRequest
from bazaar.platform.observability import logger as log
from bazaar.platform.observability import metrics
from bazaar.shipping.domain import (
    DuplicateChannelOrder,
    ProviderUnavailable,
    ShipmentCancelled,
    ShipmentOutcome,
    ShipmentRequest,
    TrackingConfirmation,
    TrackingEvent,
    TrackingMismatch,
)
from bazaar.shipping.ports import ShippingProvider, TrackingEvents
from bazaar.shipping.tracking import classify, is_known
from bazaar.shipping.webhooks import Rejected, check_api_key, parse_tracking_webhook, payload_digest


def ship_order(request: ShipmentRequest, provider: ShippingProvider) -> ShipmentOutcome:
    """Hands one order to the courier: the provider's order (found, or created), an AWB and a
    booked pickup. Safe to run again after any failure, including a timeout that hid a success:
    it never creates a second provider order for the same channel order id."""
    channel_order_id = request.channel_order_id
    order = provider.find_order_by_channel_order_id(channel_order_id)
    created = False
    if order is None:
        try:
            order = provider.create_order(request)
            created = True
        except DuplicateChannelOrder:
            # An earlier attempt created it after all, but the search did not show it yet.
            order = provider.find_order_by_channel_order_id(channel_order_id)
            if order is None:
                raise ProviderUnavailable(
                    f"provider says order {channel_order_id} exists but cannot find it yet"
                ) from None
        log.info("shipping order", extra={"channel_order_id": channel_order_id, "provider_answer": order.model_dump(),
                                          "created_now": created})
    if order.cancelled:
        raise ShipmentCancelled(
            f"the provider's order {order.provider_order_id} for {channel_order_id} is cancelled; "
            "its order id cannot be shipped again"
        )

    awb, courier, pickup_date = order.awb, order.courier_name, order.pickup_scheduled_date
    assigned = False
    if not awb:
        assignment = provider.assign_awb(order.shipment_id)
        log.info("awb assigned", extra={"channel_order_id": channel_order_id, "provider_answer": assignment.model_dump()})
        awb, courier, assigned = assignment.awb, assignment.courier_name, True

    booked = False
    if not order.pickup_booked:
        booking = provider.generate_pickup(order.shipment_id)
        log.info("pickup booked", extra={"channel_order_id": channel_order_id, "provider_answer": booking.model_dump()})
        pickup_date, booked = booking.pickup_scheduled_date, True

    return ShipmentOutcome(
        channel_order_id=channel_order_id,
        provider_order_id=order.provider_order_id,
        shipment_id=order.shipment_id,
        awb=awb,
        courier_name=courier,
        pickup_scheduled_date=pickup_date,
        created_order=created,
        assigned_awb=assigned,
        booked_pickup=booked,
    )


def confirm_tracking(event: TrackingEvent, provider: ShippingProvider) -> TrackingConfirmation:
    """A webhook scan, re-read from the provider's track API: the webhook's x-api-key is a static
    secret that does not protect the body, so only what the track API says may move a shipment.
    The state returned is the provider's current one; the caller applies it with
    `tracking.next_state`, which ignores anything that would move the shipment backwards."""
    snapshot = provider.track(awb=event.awb)
    if snapshot.awb != event.awb:
        raise TrackingMismatch(f"asked to track {event.awb}, the provider answered about {snapshot.awb}")
    # Only the AWB is compared: whether the track API's `order_id` is the channel's id or
    # Shiprocket's is not documented (docs/providers/shiprocket.md, 'Tracking webhook'), and the webhook's may
    # carry a suffix.
    current = snapshot.current
    known = current is not None and is_known(current)
    if current is not None and not known:
        log.warning("unknown tracking status", extra={"awb": event.awb, "label": current.label,
                                                      "shipment_status_id": current.shipment_status_id})
    for scan in snapshot.scans:
        if not is_known(scan):
            log.warning("unknown tracking scan kept in history", extra={"awb": event.awb, "label": scan.label,
                                                                         "shipment_status_id": scan.shipment_status_id})
    return TrackingConfirmation(
        awb=event.awb,
        channel_order_id=event.channel_order_id,
        current=current,
        state=classify(current) if current is not None else None,
        label=current.label if current is not None else None,
        known_label=known,
        scans=snapshot.scans,
    )



def accept_tracking_webhook(
    api_key: str | None, body: bytes, expected_key: str, events: TrackingEvents, now: datetime
) -> TrackingEvent | Rejected:
    """Verifies the caller, then queues the scan; nothing else, so Shiprocket gets its 200 fast."""
    rejected = check_api_key(api_key, expected_key)
    if rejected is not None:
        return rejected
    parsed = parse_tracking_webhook(body, now)
    if isinstance(parsed, Rejected):
        return parsed
    events.put(parsed)
    return parsed


def receive_tracking_webhook(request: WebhookRequest, webhook) -> WebhookReply:
    """The webhook's answer (`webhook`: bazaar.shipping.wiring.TrackingWebhook): the scan queued
    (200), or refused with the reason logged: who, what, why, never the key that was sent."""
    result = accept_tracking_webhook(request.headers.get("x-api-key"), request.body, webhook.api_key(),
                                     webhook.events, request.received_at)
    if isinstance(result, Rejected):
        log.warning("shiprocket webhook rejected", extra={
            "reason": result.reason, "source_ip": request.source_ip, "payload_sha256": payload_digest(request.body),
            "payload_bytes": len(request.body)})
        metrics.add_metric(name="ShiprocketWebhookRejected", unit="Count", value=1)
        if result.status == 401:
            return WebhookReply.refused(401, "UNAUTHORIZED", "The webhook's x-api-key is missing or wrong.")
        return WebhookReply.refused(400, "BAD_REQUEST", f"The webhook body was not accepted: {result.reason}.")
    log.info("shiprocket webhook queued", extra={"awb": result.awb, "label": result.label,
                                                 "payload_sha256": result.payload_sha256})
    return WebhookReply.accepted()
