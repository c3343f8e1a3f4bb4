"""The shipping context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bazaar.orders.adapters.dynamodb import order_book
from bazaar.orders.ports import AftersaleBook
from bazaar.platform import aws
from bazaar.platform.clock import Clock, utc_now
from bazaar.platform.secrets import load_secret
from bazaar.platform.settings import Settings
from bazaar.shipping.adapters.sqs import SqsTrackingEvents
from bazaar.shipping.ports import ShippingProvider, TrackingEvents
from bazaar.shipping.settings import ShipmentJobSettings, ShippingSettings, ShiprocketCredentials



@dataclass(frozen=True)
class Fulfilment:
    """What shipping's use cases on orders need: the order book, the provider and the clock."""

    orders: AftersaleBook
    provider: ShippingProvider
    clock: Clock


@dataclass(frozen=True)
class ShipmentJobs(Fulfilment):
    contact_email: str  # the shop's, which Shiprocket requires on every order
    max_attempts: int  # the queue's max receive count: the last attempt marks SHIPMENT_FAILED


@dataclass(frozen=True)
class TrackingWebhook:
    events: TrackingEvents
    api_key: Callable[[], str]  # the x-api-key Shiprocket must send, from the secret (rotates)


def shiprocket(settings: ShippingSettings) -> ShippingProvider:
    """The client, with credentials read from the `shiprocket` secret when first needed (and again
    when the secret cache expires, so a rotated password is picked up). Imported here: the webhook
    function builds none, and needs neither it nor its HTTP stack."""
    from bazaar.shipping.adapters.shiprocket import Shiprocket

    return Shiprocket(settings.shiprocket_base_url, lambda: load_secret(settings, "shiprocket", ShiprocketCredentials))


def fulfilment(settings: ShippingSettings) -> Fulfilment:
    return Fulfilment(order_book(settings, aws.client("dynamodb")), shiprocket(settings), utc_now)


def shipment_jobs(settings: ShipmentJobSettings) -> ShipmentJobs:
    return ShipmentJobs(order_book(settings, aws.client("dynamodb")), shiprocket(settings), utc_now,
                        contact_email=settings.shipping_contact_email, max_attempts=settings.shipments_max_receive_count)


def tracking_webhook(settings: Settings) -> TrackingWebhook:
    return TrackingWebhook(
        SqsTrackingEvents(aws.client("sqs"), settings.queue_url("tracking-events")),
        lambda: load_secret(settings, "shiprocket", ShiprocketCredentials).webhook_api_key,
    )
