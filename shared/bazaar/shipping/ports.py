from __future__ import annotations

from typing import Protocol

from bazaar.shipping.domain import (
    AwbAssignment,
    PickupBooking,
    ProviderOrder,
    ShipmentRequest,
    TrackingEvent,
    TrackingSnapshot,
)


class ShippingProvider(Protocol):
    """A courier aggregator. Every method raises `ProviderUnavailable` when the outcome is
    unknown (timeout, 429, 5xx) and `ProviderRejected` when the provider said no, including a
    failure reported inside a 200 body."""

    def create_order(self, request: ShipmentRequest) -> ProviderOrder:
        """Raises DuplicateChannelOrder if an order with this channel order id exists."""

    def assign_awb(self, shipment_id: int) -> AwbAssignment: ...

    def generate_pickup(self, shipment_id: int) -> PickupBooking: ...

    def track(self, *, awb: str | None = None, shipment_id: int | None = None) -> TrackingSnapshot: ...

    def cancel(self, provider_order_id: int) -> None: ...

    def find_order_by_channel_order_id(self, channel_order_id: str) -> ProviderOrder | None:
        """The provider's order for our order id, or None. How a retry after a timeout learns
        whether the first attempt created the order (creating it again is refused)."""


class TrackingEvents(Protocol):
    """The queue between the webhook and the tracking worker."""

    def put(self, event: TrackingEvent) -> None: ...
