"""Orders and THE order state machine. Pure Python.

`TRANSITIONS` is the one place that says which status may follow which, and what each change
does to the order's stock. Later issues extend it (payments: PAYMENT_FAILED handling; shipping:
SHIPMENT_*, SHIPPED..DELIVERED, REFUNDED, PARTIALLY_REFUNDED) by adding statuses and rows here,
nowhere else. Every transition is stored as ONE conditional write (condition: the status is still
the one it was read in) that also appends a history entry and moves the stock, so a duplicate or
late event finds the status changed and changes nothing. A status with no outgoing row is
terminal and can never regress."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from bazaar.catalog.domain import StockMove
from bazaar.money import Paise
from bazaar.orders.events import EventLine, OrderEvent, OrderEventType, event_id_for
from bazaar.platform.errors import BazaarError, NotFound


class OrderStatus(StrEnum):
    PAYMENT_PENDING = "PAYMENT_PENDING"  # stock locked until lock_expires_at, awaiting payment
    PAID = "PAID"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    EXPIRED = "EXPIRED"  # the customer did not pay in time; stock given back
    CANCELLED = "CANCELLED"  # the customer cancelled before paying; stock given back
    NEEDS_REFUND = "NEEDS_REFUND"  # paid, but the order cannot be fulfilled: money must go back
    # After PAID. SHIPPED..SHIPMENT_CANCELLED mirror the shipment states of
    # bazaar.shipping.tracking (SHIPMENT_FOR_TRACKING maps them); the provider's scans move them.
    SHIPMENT_CREATED = "SHIPMENT_CREATED"  # the courier aggregator has the order, an AWB and a pickup
    SHIPMENT_FAILED = "SHIPMENT_FAILED"  # the shipment job ran out of retries (its message is in the DLQ)
    SHIPPED = "SHIPPED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    NDR = "NDR"  # a delivery attempt failed; the courier may try again
    DELIVERED = "DELIVERED"
    RTO = "RTO"  # coming back to the seller
    RTO_DELIVERED = "RTO_DELIVERED"
    LOST = "LOST"
    SHIPMENT_CANCELLED = "SHIPMENT_CANCELLED"  # the provider's order was cancelled; it never ships again
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


S = OrderStatus

# from-status -> {to-status: what happens to the order's units}. None: stock is untouched.
TRANSITIONS: dict[OrderStatus, dict[OrderStatus, StockMove | None]] = {
    S.PAYMENT_PENDING: {
        S.PAID: StockMove.SELL_LOCKED,
        S.PAYMENT_FAILED: StockMove.RELEASE,
        S.EXPIRED: StockMove.RELEASE,
        S.CANCELLED: StockMove.RELEASE,
        # PhonePe took another amount than the order's total: never fulfilled, the money goes back.
        S.NEEDS_REFUND: StockMove.RELEASE,
    },
    # A payment confirmed after the locks were given back: sell from available stock if it is
    # still there (the transition is conditional on it), else the money must be refunded.
    S.EXPIRED: {S.PAID: StockMove.SELL_AVAILABLE, S.NEEDS_REFUND: None},
    S.PAYMENT_FAILED: {S.PAID: StockMove.SELL_AVAILABLE, S.NEEDS_REFUND: None},
    # The customer walked away on purpose: a late payment is refunded, never fulfilled.
    S.CANCELLED: {S.NEEDS_REFUND: None},
    # -- after PAID -------------------------------------------------------------------------
    # Refunds first become possible where the goods are not (or no longer) on their way.
    S.PAID: {S.SHIPMENT_CREATED: None, S.SHIPMENT_FAILED: None, S.PARTIALLY_REFUNDED: None, S.REFUNDED: None},
    S.NEEDS_REFUND: {S.PARTIALLY_REFUNDED: None, S.REFUNDED: None},
    # An admin retry (or a late success of the job) ships it after all.
    S.SHIPMENT_FAILED: {S.SHIPMENT_CREATED: None, S.SHIPMENT_CANCELLED: None, S.PARTIALLY_REFUNDED: None,
                        S.REFUNDED: None},
    # Scans may skip steps (a courier's first scan can be IN TRANSIT); bazaar.shipping.tracking's
    # rank decides which of these a scan may take, so a late scan never moves an order back.
    S.SHIPMENT_CREATED: {S.SHIPPED: None, S.IN_TRANSIT: None, S.OUT_FOR_DELIVERY: None, S.NDR: None,
                         S.DELIVERED: None, S.RTO: None, S.RTO_DELIVERED: None, S.LOST: None,
                         S.SHIPMENT_CANCELLED: None},
    S.SHIPPED: {S.IN_TRANSIT: None, S.OUT_FOR_DELIVERY: None, S.NDR: None, S.DELIVERED: None, S.RTO: None,
                S.RTO_DELIVERED: None, S.LOST: None, S.SHIPMENT_CANCELLED: None},
    S.IN_TRANSIT: {S.OUT_FOR_DELIVERY: None, S.NDR: None, S.DELIVERED: None, S.RTO: None, S.RTO_DELIVERED: None,
                   S.LOST: None},
    S.OUT_FOR_DELIVERY: {S.NDR: None, S.DELIVERED: None, S.RTO: None, S.RTO_DELIVERED: None, S.LOST: None},
    S.NDR: {S.OUT_FOR_DELIVERY: None, S.DELIVERED: None, S.RTO: None, S.RTO_DELIVERED: None, S.LOST: None},
    S.RTO: {S.RTO_DELIVERED: None, S.LOST: None},
    S.DELIVERED: {S.PARTIALLY_REFUNDED: None, S.REFUNDED: None},
    S.RTO_DELIVERED: {S.PARTIALLY_REFUNDED: None, S.REFUNDED: None},
    S.LOST: {S.PARTIALLY_REFUNDED: None, S.REFUNDED: None},
    S.SHIPMENT_CANCELLED: {S.PARTIALLY_REFUNDED: None, S.REFUNDED: None},
    # A further partial refund completing keeps the order PARTIALLY_REFUNDED (with its own history
    # entry); the one that brings the total back makes it REFUNDED, which is terminal.
    S.PARTIALLY_REFUNDED: {S.PARTIALLY_REFUNDED: None, S.REFUNDED: None},
    S.REFUNDED: {},
}

E = OrderEventType

# The event each status change emits, by the status it enters (whatever it came from: a late
# payment after expiry is as much OrderPaid as a timely one).
EMITS: dict[OrderStatus, OrderEventType] = {
    S.PAYMENT_PENDING: E.ORDER_PLACED,
    S.PAID: E.ORDER_PAID,
    S.PAYMENT_FAILED: E.PAYMENT_FAILED,
    S.EXPIRED: E.ORDER_EXPIRED,
    S.CANCELLED: E.ORDER_CANCELLED,
    S.NEEDS_REFUND: E.NEEDS_REFUND,
    S.SHIPMENT_CREATED: E.SHIPMENT_CREATED,
    S.SHIPMENT_FAILED: E.SHIPMENT_FAILED,
    S.SHIPPED: E.SHIPPED,
    S.IN_TRANSIT: E.IN_TRANSIT,
    S.OUT_FOR_DELIVERY: E.OUT_FOR_DELIVERY,
    S.NDR: E.DELIVERY_ATTEMPT_FAILED,
    S.DELIVERED: E.DELIVERED,
    S.RTO: E.RETURNING_TO_SELLER,
    S.RTO_DELIVERED: E.RETURNED_TO_SELLER,
    S.LOST: E.SHIPMENT_LOST,
    S.SHIPMENT_CANCELLED: E.SHIPMENT_CANCELLED,
    S.PARTIALLY_REFUNDED: E.PARTIALLY_REFUNDED,
    S.REFUNDED: E.REFUNDED,
}
assert set(EMITS) == set(OrderStatus), "every status an order can enter names its event"

# Statuses in which the order holds stock locks (and counts against the customer's lock cap).
HOLDS_LOCKS = frozenset({S.PAYMENT_PENDING})


def is_terminal(status: OrderStatus) -> bool:
    return not TRANSITIONS.get(status)


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    variant_id: str
    sku: str
    title: str
    unit_price: Paise
    quantity: int
    seller_id: str = ""  # orders placed before lines named their seller have none
    # The product's category when it was sold: the seller's commission is decided by it.
    category: str = ""

    @property
    def total(self) -> Paise:
        return self.unit_price.times(self.quantity)


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    phone: str
    line1: str
    city: str
    state: str
    pincode: str
    line2: str = ""


@dataclass(frozen=True)
class ShipmentRecord:
    """The provider's parcel for this order, once it has an AWB."""

    provider_order_id: int
    shipment_id: int
    awb: str
    courier_name: str | None = None
    pickup_scheduled_date: str | None = None


class RefundState(StrEnum):
    REQUESTED = "REQUESTED"  # written before the provider is asked; a retry re-sends the same id
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def open(self) -> bool:
        return self not in (RefundState.COMPLETED, RefundState.FAILED)


@dataclass(frozen=True)
class RefundRecord:
    sequence: int
    merchant_refund_id: str
    amount: Paise
    state: RefundState
    reason: str
    requested_by: str
    requested_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    shipping_address: ShippingAddress
    created_at: datetime
    updated_at: datetime
    lock_expires_at: datetime
    # How many changes the order has had (its history entries); every transition is conditional
    # on it as well as on the status, and it numbers the history entries in order.
    version: int = 1
    history: tuple[HistoryEntry, ...] = field(default=(), compare=False)
    shipment: ShipmentRecord | None = None
    refunds: tuple[RefundRecord, ...] = field(default=(), compare=False)
    # Keys of the tracking scans already kept in the history: a repeated scan adds nothing.
    scan_keys: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def total(self) -> Paise:
        return sum((line.total for line in self.lines), Paise.zero())

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def holds_locks(self) -> bool:
        return self.status in HOLDS_LOCKS

    def visible_to(self, user_id: str, is_admin: bool) -> bool:
        return is_admin or self.customer_id == user_id

    def lock_expired(self, now: datetime) -> bool:
        return self.lock_expires_at <= now

    def transition(self, to: OrderStatus, at: datetime, reason: str, *, actor: str = "system",
                   only_if_lock_expired_by: datetime | None = None, facts: dict | None = None) -> Transition:
        allowed = TRANSITIONS.get(self.status, {})
        if to not in allowed:
            raise InvalidTransition(self.status, to)
        return Transition(
            order=self,
            to_status=to,
            stock_move=allowed[to],
            releases_hold=self.status in HOLDS_LOCKS and to not in HOLDS_LOCKS,
            at=at,
            reason=reason,
            only_if_lock_expired_by=only_if_lock_expired_by,
            actor=actor,
            emits=EMITS[to],
            facts=dict(facts or {}),
        )

    def note(self, at: datetime, reason: str, *, actor: str = "system", emits: OrderEventType | None = None,
             facts: dict | None = None) -> Transition:
        """A history entry that leaves the status as it is (a tracking scan that moves nothing,
        an admin re-driving a job), written as conditionally as a transition. It emits an event
        only when it is news in itself (`emits`)."""
        return Transition(order=self, to_status=self.status, stock_move=None, releases_hold=False, at=at,
                          reason=reason, actor=actor, emits=emits, facts=dict(facts or {}))

    def placed_event(self, actor: str) -> OrderEvent:
        """The event a new order is written with."""
        return _event(self, E.ORDER_PLACED, actor, self.created_at, self.version, None, self.status,
                      self.history[-1].reason if self.history else "placed", {})


@dataclass(frozen=True)
class Transition:
    """One status change, as it must be written: conditional on `order.status` still being the
    current status (and, for expiry, on the lock having expired by the given time)."""

    order: Order
    to_status: OrderStatus
    stock_move: StockMove | None
    releases_hold: bool
    at: datetime
    reason: str
    only_if_lock_expired_by: datetime | None = None
    actor: str = "system"
    emits: OrderEventType | None = None
    facts: dict = field(default_factory=dict, compare=False)

    @property
    def from_status(self) -> OrderStatus:
        return self.order.status

    @property
    def event(self) -> OrderEvent | None:
        """What this change tells the rest of Bazaar, committed with it; None for a plain note."""
        if self.emits is None:
            return None
        return _event(self.order, self.emits, self.actor, self.at, self.order.version + 1, self.from_status,
                      self.to_status, self.reason, self.facts)

    @property
    def entry(self) -> HistoryEntry:
        return HistoryEntry(self.at, self.from_status, self.to_status, self.reason)

    def applied(self) -> Order:
        return replace(self.order, status=self.to_status, updated_at=self.at, version=self.order.version + 1,
                       history=(*self.order.history, self.entry))


def _event(order: Order, kind: OrderEventType, actor: str, at: datetime, version: int,
           from_status: OrderStatus | None, to_status: OrderStatus, reason: str, facts: dict) -> OrderEvent:
    return OrderEvent(
        event_id=event_id_for(order.order_id, version), event_type=kind, order_id=order.order_id,
        customer_id=order.customer_id, actor=actor, occurred_at=at, order_version=version,
        from_status=from_status.value if from_status else None, to_status=to_status.value, reason=reason,
        total_paise=order.total.amount,
        lines=tuple(EventLine(product_id=l.product_id, variant_id=l.variant_id, seller_id=l.seller_id, sku=l.sku,
                              quantity=l.quantity, unit_price_paise=l.unit_price.amount,
                              total_paise=l.total.amount) for l in order.lines),
        facts=facts,
    )


def payment_targets(order: Order) -> tuple[OrderStatus, ...]:
    """Where a confirmed payment takes the order, in order of preference. Empty: the payment is
    already settled (PAID, NEEDS_REFUND or any later status), so a duplicate changes nothing."""
    # An order holding its locks always sells them: NEEDS_REFUND is for a wrong amount only.
    preference = (S.PAID,) if order.holds_locks else (S.PAID, S.NEEDS_REFUND)
    return tuple(t for t in preference if t in TRANSITIONS.get(order.status, {}))


class OrderNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such order.")


class InvalidTransition(BazaarError):
    code = "INVALID_STATE_TRANSITION"

    def __init__(self, current: OrderStatus, wanted: OrderStatus) -> None:
        self.current, self.wanted = current, wanted
        super().__init__(f"An order in {current} cannot become {wanted}.")




class StaleOrder(Exception):
    """The order changed since it was read; the transition was not written. Read it again."""


class PaymentAlreadySettled(Exception):
    """The transition was to close the order's payment record, which somebody else closed first;
    nothing was written (a duplicate confirmation lost the race)."""


class PaymentAmountMismatch(BazaarError):
    code = "PAYMENT_AMOUNT_MISMATCH"

    def __init__(self) -> None:
        super().__init__("The amount paid is not the order's total; nothing was changed.")
