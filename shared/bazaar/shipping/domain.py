"""Shipping: what we ask a courier aggregator to carry, what it tells us back, and how a call to
it can fail. Amounts are integer paise; the Shiprocket adapter speaks rupees at its edge."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bazaar.shipping.tracking import ShipmentState, TrackingScan

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class PaymentMethod(StrEnum):
    PREPAID = "Prepaid"
    COD = "COD"


class Address(BaseModel):
    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=80)
    line1: str = Field(min_length=3, max_length=190)
    line2: str | None = Field(default=None, max_length=190)
    city: str = Field(min_length=1, max_length=30)  # Shiprocket refuses longer city names
    state: str = Field(min_length=2, max_length=50)
    pincode: str = Field(pattern=r"^[1-9][0-9]{5}$")
    country: str = "India"
    email: str = Field(min_length=3, max_length=120)
    phone: str = Field(pattern=r"^[6-9][0-9]{9}$")


class ShipmentItem(BaseModel):
    model_config = _FROZEN

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    units: int = Field(ge=1, le=1000)
    unit_price_paise: int = Field(ge=0)
    hsn: str | None = Field(default=None, max_length=16)


class Parcel(BaseModel):
    model_config = _FROZEN

    length_cm: int = Field(ge=1, le=300)
    breadth_cm: int = Field(ge=1, le=300)
    height_cm: int = Field(ge=1, le=300)
    weight_grams: int = Field(ge=1, le=100_000)


class ShipmentRequest(BaseModel):
    """One order to hand to the courier. `channel_order_id` is our order id: Shiprocket keeps it
    unique forever (even after a cancel), which is what makes shipping an order idempotent."""

    model_config = _FROZEN

    channel_order_id: str = Field(min_length=1, max_length=50)
    order_date: date
    ship_to: Address
    items: tuple[ShipmentItem, ...] = Field(min_length=1)
    parcel: Parcel
    payment_method: PaymentMethod = PaymentMethod.PREPAID
    sub_total_paise: int = Field(ge=0)

    @model_validator(mode="after")
    def _sub_total_is_the_items(self) -> ShipmentRequest:
        total = sum(item.unit_price_paise * item.units for item in self.items)
        if total != self.sub_total_paise:
            raise ValueError(f"sub_total_paise {self.sub_total_paise} is not the items' total {total}")
        return self


class ProviderOrder(BaseModel):
    """The provider's order for one channel order id, as far as it has got."""

    model_config = ConfigDict(frozen=True)

    channel_order_id: str
    provider_order_id: int
    shipment_id: int
    status: str = ""
    awb: str | None = None
    courier_name: str | None = None
    pickup_scheduled_date: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.status.upper().replace("_", " ") in ("CANCELED", "CANCELLED")

    @property
    def pickup_booked(self) -> bool:
        return bool(self.pickup_scheduled_date)


class AwbAssignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    shipment_id: int
    awb: str
    courier_name: str | None = None
    pickup_scheduled_date: str | None = None


class PickupBooking(BaseModel):
    model_config = ConfigDict(frozen=True)

    shipment_id: int
    pickup_scheduled_date: str | None = None
    token_number: str | None = None


class TrackingSnapshot(BaseModel):
    """What the provider's track API says about one AWB right now."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    awb: str
    has_activity: bool
    current: TrackingScan | None = None
    scans: tuple[TrackingScan, ...] = ()
    etd: str | None = None


class ShipmentOutcome(BaseModel):
    """Where `ship_order` left an order, and which steps it did itself this time."""

    model_config = ConfigDict(frozen=True)

    channel_order_id: str
    provider_order_id: int
    shipment_id: int
    awb: str
    courier_name: str | None
    pickup_scheduled_date: str | None
    created_order: bool
    assigned_awb: bool
    booked_pickup: bool


class TrackingEvent(BaseModel):
    """A scan pushed to our webhook, as queued for the tracking worker. Only a hint: the worker
    re-reads the shipment from the track API before anything moves."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    provider: str = "shiprocket"
    awb: str = Field(min_length=1, max_length=64)
    channel_order_id: str | None = None
    provider_order_id: int | None = None
    label: str | None = None
    shipment_status_id: int | None = None
    order_status_id: int | None = None
    scanned_at: str | None = None
    is_return: bool = False
    received_at: datetime
    payload_sha256: str


class TrackingConfirmation(BaseModel):
    """A webhook's scan after the provider confirmed it: the state the provider reports now
    (None when it says nothing we can act on) plus the scans for the shipment's history."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    awb: str
    channel_order_id: str | None
    current: TrackingScan | None = None  # the provider's current status, as its track API says
    state: ShipmentState | None
    label: str | None
    known_label: bool
    scans: tuple[TrackingScan, ...]


# ---------------------------------------------------------------------------------------------
# How a provider call fails. Both kinds fail the SQS record, so SQS retries it and, after the
# queue's max receives, parks it in the DLQ (which alarms).
# ---------------------------------------------------------------------------------------------


class ShippingProviderError(Exception):
    retryable = False

    def __init__(self, message: str, *, status: int | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details or {}


class ProviderUnavailable(ShippingProviderError):
    """Timeout, connection failure, 429 or 5xx: the call may or may not have happened."""

    retryable = True


class ProviderRejected(ShippingProviderError):
    """The provider answered and said no (4xx, or a failure flag inside a 200 body)."""


class DuplicateChannelOrder(ProviderRejected):
    """The provider already has an order with this channel order id."""


class ShipmentCancelled(ShippingProviderError):
    """The provider's order for this channel order id is cancelled; its id can never be reused."""


class TrackingMismatch(ShippingProviderError):
    """The track API answered about a different shipment than the one asked for."""
