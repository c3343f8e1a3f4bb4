"""API shapes of checkout and the stock cleanup's admin view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bazaar.checkout.domain import CartLine
from bazaar.checkout.services import CheckoutCommand, CheckoutResult, CleanupStatus
from bazaar.ops.domain import JobRun
from bazaar.orders.schemas import OrderOut, ShippingAddressIn
from bazaar.platform.clock import rfc3339
from bazaar.platform.ids import id_pattern

if TYPE_CHECKING:
    from bazaar.platform.idempotency import KeyClaim


class CartLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[str, StringConstraints(pattern=id_pattern("prd"))]
    variant_id: Annotated[str, StringConstraints(pattern=id_pattern("var"))]
    quantity: Annotated[int, Field(strict=True, ge=1, le=100)]


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[CartLineIn], Field(min_length=1, max_length=50)]
    shipping_address: ShippingAddressIn

    def command(self, customer_id: str, key: KeyClaim | None = None) -> CheckoutCommand:
        return CheckoutCommand(
            customer_id=customer_id,
            lines=tuple(CartLine(i.product_id, i.variant_id, i.quantity) for i in self.items),
            shipping_address=self.shipping_address.address(),
            key=key,
        )


class PaymentOut(BaseModel):
    redirect_url: str | None  # send the shopper here to pay; None: the payment is being checked
    provider: str | None = None
    merchant_order_id: str | None = None


class CheckoutOut(BaseModel):
    order: OrderOut
    total_paise: int
    lock_expires_at: str
    payment: PaymentOut

    @classmethod
    def of(cls, result: CheckoutResult) -> CheckoutOut:
        return cls(
            order=OrderOut.of(result.order),
            total_paise=result.order.total.amount,
            lock_expires_at=rfc3339(result.order.lock_expires_at),
            payment=PaymentOut(redirect_url=result.payment.redirect_url, provider=result.payment.provider,
                               merchant_order_id=result.payment.merchant_order_id),
        )


class CleanupRunOut(BaseModel):
    started_at: str
    duration_ms: int
    succeeded: bool
    manual: bool
    orders_expired: int
    locks_released: int  # units given back to available stock
    lost_races: int
    errors: int
    error: str | None

    @classmethod
    def of(cls, run: JobRun) -> CleanupRunOut:
        s = run.summary
        return cls(
            started_at=rfc3339(run.started_at), duration_ms=run.duration_ms, succeeded=run.succeeded,
            manual=bool(s.get("manual")), orders_expired=s.get("orders_expired", 0),
            locks_released=s.get("locks_released", 0), lost_races=s.get("lost_races", 0),
            errors=s.get("errors", 0), error=run.error,
        )


class CleanupStatusOut(BaseModel):
    interval_seconds: int
    next_scheduled_at: str | None
    runs: list[CleanupRunOut]

    @classmethod
    def of(cls, status: CleanupStatus) -> CleanupStatusOut:
        return cls(
            interval_seconds=int(status.interval.total_seconds()),
            next_scheduled_at=rfc3339(status.next_scheduled_at) if status.next_scheduled_at else None,
            runs=[CleanupRunOut.of(r) for r in status.runs],
        )
