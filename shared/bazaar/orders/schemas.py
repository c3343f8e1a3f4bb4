"""API shapes of orders."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bazaar.catalog.domain import plain_text
from bazaar.orders.domain import Order, ShippingAddress
from bazaar.platform.clock import rfc3339


def _line(max_length: int, min_length: int = 1) -> AfterValidator:
    def clean(value: str) -> str:
        text = plain_text(value)
        if not min_length <= len(text) <= max_length:
            raise ValueError(f"must have {min_length}-{max_length} characters of text")
        return text

    return AfterValidator(clean)


# Spelled out as `Annotated[...]` (not built by a call in the annotation) so that type checkers
# see them as types. The raw bound keeps the sanitiser's work small; the clean bound is what users see.
PersonName = Annotated[str, StringConstraints(max_length=100 * 4), _line(100)]
AddressLine = Annotated[str, StringConstraints(max_length=200 * 4), _line(200)]
OptionalAddressLine = Annotated[str, StringConstraints(max_length=200 * 4), _line(200, min_length=0)]
Place = Annotated[str, StringConstraints(max_length=80 * 4), _line(80)]
Reason = Annotated[str, StringConstraints(max_length=500 * 4), _line(500, min_length=3)]


class ShippingAddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    phone: Annotated[str, StringConstraints(pattern=r"^[6-9][0-9]{9}$")]  # an Indian mobile number
    line1: AddressLine
    line2: OptionalAddressLine = ""
    city: Place
    state: Place
    pincode: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{5}$")]

    def address(self) -> ShippingAddress:
        return ShippingAddress(**self.model_dump())


class OrderLineOut(BaseModel):
    product_id: str
    variant_id: str
    sku: str
    title: str
    unit_price_paise: int
    quantity: int
    total_paise: int


class HistoryEntryOut(BaseModel):
    at: str
    from_status: str | None
    to_status: str
    reason: str


def _entry_out(h) -> HistoryEntryOut:
    return HistoryEntryOut(at=rfc3339(h.at), from_status=h.from_status.value if h.from_status else None,
                           to_status=h.to_status.value, reason=h.reason)


class OrderEventsOut(BaseModel):
    order_id: str
    events: list[HistoryEntryOut]

    @classmethod
    def of(cls, order_id: str, history) -> OrderEventsOut:
        return cls(order_id=order_id, events=[_entry_out(h) for h in history])


class ShipmentOut(BaseModel):
    awb: str
    courier_name: str | None
    provider_order_id: int
    shipment_id: int
    pickup_scheduled_date: str | None


class RefundOut(BaseModel):
    merchant_refund_id: str
    amount_paise: int
    state: str
    reason: str
    requested_at: str


class OrderOut(BaseModel):
    order_id: str
    customer_id: str
    status: str
    items: list[OrderLineOut]
    total_paise: int
    shipping_address: ShippingAddressIn
    lock_expires_at: str
    created_at: str
    updated_at: str
    history: list[HistoryEntryOut] | None = None
    shipment: ShipmentOut | None = None
    refunds: list[RefundOut] | None = None

    @classmethod
    def of(cls, order: Order, with_history: bool = False) -> OrderOut:
        return cls(
            order_id=order.order_id,
            customer_id=order.customer_id,
            status=order.status.value,
            items=[
                OrderLineOut(product_id=l.product_id, variant_id=l.variant_id, sku=l.sku, title=l.title,
                             unit_price_paise=l.unit_price.amount, quantity=l.quantity, total_paise=l.total.amount)
                for l in order.lines
            ],
            total_paise=order.total.amount,
            shipping_address=ShippingAddressIn.model_construct(**vars(order.shipping_address)),
            lock_expires_at=rfc3339(order.lock_expires_at),
            created_at=rfc3339(order.created_at),
            updated_at=rfc3339(order.updated_at),
            history=[_entry_out(h) for h in order.history] if with_history else None,
            shipment=ShipmentOut(**vars(order.shipment)) if order.shipment else None,
            refunds=[
                RefundOut(merchant_refund_id=r.merchant_refund_id, amount_paise=r.amount.amount, state=r.state.value,
                          reason=r.reason, requested_at=rfc3339(r.requested_at))
                for r in order.refunds
            ] if with_history and order.refunds else None,
        )


class AdminActionIn(BaseModel):
    """Every admin override says why; the reason goes to the audit trail and the order's history."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class RefundIn(AdminActionIn):
    amount_paise: Annotated[int, Field(ge=1, le=10**12)]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None
