"""In-memory stand-ins for Bazaar's ports, for use-case tests that run in milliseconds.

Each fake keeps the conditions its DynamoDB (or provider) adapter writes, so a use case meets
the same refusals here as against the table: a transition whose order changed since it was read
is StaleOrder, a stock move short of units is OutOfStock and writes nothing, a settled payment
record is not settled again, a feed entry is added once. A checkout's order, payment record and
Idempotency-Key claim are written together or not at all, and a PAID transition closes the
payment record exactly when it commits. A refused write changes nothing at all (every write
below checks all its conditions before touching any state, as a transaction does).

Where a fake cannot (or does not try to) match the adapter exactly, the comment at that place
says so. Things true of all of them:
- DynamoDB stores times at millisecond precision (`isoformat(timespec="milliseconds")`); the
  fakes keep whatever datetime they are given. Tests use whole-second times.
- Reads here are always consistent. The adapters read with ConsistentRead where they can, but a
  query on a global secondary index (for_customer, holding_expired_locks, due, ...) is eventually
  consistent on DynamoDB: a just-written change may be missing from it for a moment.
- DynamoDB retries a transaction on TransactionConflict (with_conflict_retries); the fakes never
  conflict, they run one call at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from bazaar.catalog.adapters.dynamodb import ConcurrentEdit
from bazaar.catalog.domain import (
    LockLimitReached,
    OutOfStock,
    Product,
    StockAdjustment,
    StockLevel,
    StockMove,
    StockWriteOffTooLarge,
    VariantNotFound,
)
from bazaar.identity.domain import AuditEntry
from bazaar.notifications.domain import (
    Channel, Delivery, DeliveryRequest, DeliveryState, FeedEntry, Notification, Preferences,
)
from bazaar.notifications.ports import Recipient
from bazaar.orders.domain import Order, OrderStatus, PaymentAlreadySettled, RefundRecord, StaleOrder, Transition
from bazaar.orders.events import OrderEvent
from bazaar.orders.ports import LockCensus
from bazaar.orders.relay import OutboxRecord
from bazaar.payments.domain import (
    CheckState,
    PaymentCreated,
    PaymentNotFound,
    PaymentRecord,
    PaymentState,
    PaymentStatus,
    RefundState,
    RefundStatus,
)
from bazaar.payments.ports import PaymentCensus
from bazaar.platform.dynamo import from_item, to_item
from bazaar.platform.idempotency import COMPLETED, IN_PROGRESS, IdempotencyKeys, KeyClaim, KeyTaken
from bazaar.shipping.domain import (
    AwbAssignment,
    DuplicateChannelOrder,
    PickupBooking,
    ProviderOrder,
    ProviderRejected,
    ShipmentRequest,
    TrackingSnapshot,
)

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves: `clock()` is now, `clock.advance(seconds=...)` moves it on."""

    def __init__(self, now: datetime = AT):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def sequential_ids():
    """A `new_id` whose ids are well formed (prefix + 26 characters) and sort in creation order."""
    numbers = count(1)
    return lambda prefix: f"{prefix}_{next(numbers):026d}"


# -- stock (the `stock` table) -----------------------------------------------------------------


@dataclass
class _Counters:
    available: int
    locked: int = 0
    sold: int = 0
    received: int = 0


# StockWrites._MOVES: (source counter, target counter).
_MOVES = {
    StockMove.LOCK: ("available", "locked"),
    StockMove.RELEASE: ("locked", "available"),
    StockMove.SELL_LOCKED: ("locked", "sold"),
    StockMove.SELL_AVAILABLE: ("available", "sold"),
}


class FakeStock:
    """Variant counters and each customer's held units, shared by FakeProducts (opening stock,
    adjustments) and FakeOrderBook (the moves), as the `stock` table is. Also the catalog Stock
    port (levels, adjust)."""

    def __init__(self) -> None:
        self.variants: dict[str, _Counters] = {}
        # None: the customer's HOLDS item (its `locked_units`) was never written, which is not
        # the same as 0 to the hold condition (see can_hold).
        self.holds: dict[str, int | None] = {}

    def receive(self, variant_id: str, units: int) -> None:
        """Opens the variant's counters (a product's opening stock). A second opening of the same
        variant is refused, as the adapter's Put is conditional on the item not existing."""
        if variant_id in self.variants:
            raise ValueError(f"variant {variant_id} already has stock counters")
        self.variants[variant_id] = _Counters(available=units, received=units)

    def level(self, variant_id: str) -> StockLevel:
        c = self.variants[variant_id]
        return StockLevel(variant_id, c.available, c.locked, c.sold, c.received)

    def levels(self, variant_ids: list[str]) -> dict[str, StockLevel]:
        return {v: self.level(v) for v in sorted(set(variant_ids)) if v in self.variants}

    def adjust(self, adjustment: StockAdjustment) -> StockLevel:
        counters = self.variants.get(adjustment.variant_id)
        if counters is None:
            raise VariantNotFound()
        if adjustment.delta < 0 and counters.available < -adjustment.delta:
            raise StockWriteOffTooLarge()
        counters.available += adjustment.delta
        counters.received += adjustment.delta
        return self.level(adjustment.variant_id)

    # The conditions of StockWrites, checked without writing, then applied.

    def can_move(self, move: StockMove, variant_id: str, quantity: int) -> bool:
        # "attribute_exists(pk) AND #source >= :q"
        counters = self.variants.get(variant_id)
        return counters is not None and getattr(counters, _MOVES[move][0]) >= quantity

    def do_move(self, move: StockMove, variant_id: str, quantity: int) -> None:
        source, target = _MOVES[move]
        counters = self.variants[variant_id]
        setattr(counters, source, getattr(counters, source) - quantity)
        setattr(counters, target, getattr(counters, target) + quantity)

    def can_hold(self, customer_id: str, units: int, cap: int) -> bool:
        # "attribute_not_exists(locked_units) OR locked_units <= :room" with room = cap - units.
        # Faithfully including its quirk: a customer who never held anything passes whatever
        # `units` is. Checkout refuses a cart over the cap before it gets here.
        held = self.holds.get(customer_id)
        return held is None or held <= cap - units

    def hold(self, customer_id: str, units: int) -> None:
        self.holds[customer_id] = (self.holds.get(customer_id) or 0) + units

    def unhold(self, customer_id: str, units: int) -> None:
        # Unconditional, as in the adapter: giving stock back is never blocked by the cap.
        self.holds[customer_id] = (self.holds.get(customer_id) or 0) - units


# -- orders (the `orders` and `order-events` tables) -------------------------------------------


def _listed(order: Order) -> Order:
    """An order as the adapter builds it from an index item: the order item alone, without its
    history or refund items (those live under other sort keys)."""
    return replace(order, history=(), refunds=())


class FakeOrderBook:
    """OrderBook and AftersaleBook in memory, with the conditions of DynamoDbOrderBook.

    `outbox` is the `order-events` table in commit order: a change's event is appended exactly
    when the change commits, never for a refused one. `audit` holds the audit entries written
    with admin changes. `attention` maps order id to the sparse `attention` attribute.

    `records` are the payment records (in the orders table, as there) and `keys` the
    `idempotency` table: place writes the order's record and the request's key claim in its one
    transaction, and a PAID transition's amendment closes the record in its own."""

    def __init__(self, stock: FakeStock | None = None, records: FakePaymentRecords | None = None,
                 keys: FakeIdempotencyTable | None = None):
        self.stock = stock if stock is not None else FakeStock()
        self.records = records if records is not None else FakePaymentRecords()
        self.keys = keys if keys is not None else FakeIdempotencyTable()
        self.orders: dict[str, Order] = {}
        self.outbox: list[OrderEvent] = []
        self.audit: list[AuditEntry] = []
        self.attention: dict[str, str] = {}
        self.awbs: dict[str, str] = {}
        self.writes = 0  # committed transactions
        self.refused = 0  # cancelled transactions (a condition failed)
        # Called with each transition just before its conditions are checked: a test's way to
        # let "somebody else" change the order between a use case's read and its write.
        self.before_apply: list = []

    # -- writes ---------------------------------------------------------------------------

    def place(self, order: Order, hold_cap: int, actor: str = "system", *,
              payment: PaymentRecord | None = None, key: KeyClaim | None = None) -> None:
        # One transaction: the refusals in the order the adapter reads them, the key first (a
        # repeated request is answered from its record, whatever the stock says now). DynamoDB
        # may report only some failed conditions; the fake always knows all of them.
        if key is not None and not self.keys.can_claim(key):
            self.refused += 1
            raise self.keys.taken(key)
        short = [l.variant_id for l in order.lines if not self.stock.can_move(StockMove.LOCK, l.variant_id, l.quantity)]
        if short:
            # The adapter names every line short now (DynamoDB may report only some of them).
            self.refused += 1
            raise OutOfStock(short)
        if not self.stock.can_hold(order.customer_id, order.units, hold_cap):
            self.refused += 1
            raise LockLimitReached(hold_cap)
        if order.order_id in self.orders or (payment is not None and not self.records.can_open(payment)):
            # The order's (or its record's) attribute_not_exists fails; the adapter raises TransactionCancelled.
            self.refused += 1
            raise RuntimeError(f"order {order.order_id} exists already (TransactionCanceledException)")
        for line in order.lines:
            self.stock.do_move(StockMove.LOCK, line.variant_id, line.quantity)
        self.stock.hold(order.customer_id, order.units)
        self.orders[order.order_id] = order
        self.outbox.append(order.placed_event(actor))
        if payment is not None:
            self.records.do_open(payment)
        if key is not None:
            self.keys.do_claim(key)
        self.writes += 1

    def apply(self, transition: Transition, amendment=None) -> Order:
        for hook in list(self.before_apply):
            hook(transition)
        order = transition.order
        stored = self.orders.get(order.order_id)
        # "#status = :from AND version = :version" (an Update of a missing item fails it too).
        current = (stored is not None and stored.status is transition.from_status
                   and stored.version == order.version)
        if current and transition.only_if_lock_expired_by is not None:
            current = stored is not None and stored.lock_expires_at <= transition.only_if_lock_expired_by
        if not current:
            self.refused += 1
            raise StaleOrder(order.order_id)
        assert stored is not None
        # The stock moves are of the lines as read, which are the stored ones (lines never change).
        if transition.stock_move is not None:
            short = [l.variant_id for l in order.lines
                     if not self.stock.can_move(transition.stock_move, l.variant_id, l.quantity)]
            if short:
                self.refused += 1
                raise OutOfStock(short)
        settles = amendment.settles_payment if amendment is not None else None
        if settles is not None and not self.records.can_settle(order.order_id, settles):
            self.refused += 1
            raise PaymentAlreadySettled(order.order_id)  # somebody else closed the record first
        if amendment is not None and not self._amendment_possible(stored, amendment):
            self.refused += 1
            raise StaleOrder(order.order_id)  # a refund condition: read again
        # Every condition holds: commit it all.
        if transition.stock_move is not None:
            for line in order.lines:
                self.stock.do_move(transition.stock_move, line.variant_id, line.quantity)
        if transition.releases_hold:
            self.stock.unhold(order.customer_id, order.units)
        # Stored: the order item, all its history items and refund items, as get() reads them.
        # Returned: what the adapter returns, the order as read with the change applied (from an
        # index read, that has no history or refunds).
        stored = replace(stored, status=transition.to_status, updated_at=transition.at, version=stored.version + 1,
                         history=(*stored.history, transition.entry))
        applied = transition.applied()
        if amendment is not None:
            self._write_amendment(stored, transition, amendment)
            stored, applied = amendment.applied_to(stored), amendment.applied_to(applied)
        self.orders[order.order_id] = stored
        event = transition.event
        if event is not None:
            self.outbox.append(event)
        self.writes += 1
        return applied

    @staticmethod
    def _amendment_possible(stored: Order, amendment) -> bool:
        if amendment.new_refund is not None and any(r.sequence == amendment.new_refund.sequence
                                                    for r in stored.refunds):
            return False  # the REFUND#<nn> Put's attribute_not_exists
        if amendment.refund_update is not None:
            before, _ = amendment.refund_update
            now = next((r for r in stored.refunds if r.sequence == before.sequence), None)
            if now is None or now.state is not before.state:
                return False  # "#state = :was"
        # The audit Put is conditional on a new stream key; audit ids are fresh, so it holds.
        return True

    def _write_amendment(self, order: Order, transition: Transition, amendment) -> None:
        """What the amendment writes besides the order item."""
        if amendment.shipment is not None:
            self.awbs[amendment.shipment.awb] = order.order_id  # an unconditional Put, as in the adapter
        if amendment.needs_attention is True:
            self.attention[order.order_id] = transition.to_status.value
        elif amendment.needs_attention is False:
            self.attention.pop(order.order_id, None)
        if amendment.audit is not None:
            self.audit.append(amendment.audit)
        if amendment.settles_payment is not None:
            self.records.do_settle(order.order_id, amendment.settles_payment)  # settle_update, no note

    # -- reads ----------------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def for_customer(self, customer_id: str, limit: int, after: dict | None) -> tuple[list[Order], dict | None]:
        # by-customer: (customer_id, order_id), newest first. The position is opaque here; the
        # adapter's is the index item's key.
        mine = sorted((o for o in self.orders.values() if o.customer_id == customer_id),
                      key=lambda o: o.order_id, reverse=True)
        if after is not None:
            mine = [o for o in mine if o.order_id < after["order_id"]]
        page = mine[:limit]
        more = len(mine) > limit
        return [_listed(o) for o in page], ({"order_id": page[-1].order_id} if more and page else None)

    def _held(self) -> list[Order]:
        # The sparse by-lock-expiry index: orders with lock_state = HELD, by lock_expires_at.
        return sorted((o for o in self.orders.values() if o.holds_locks), key=lambda o: o.lock_expires_at)

    def holding_expired_locks(self, now: datetime, limit: int) -> list[Order]:
        return [_listed(o) for o in self._held() if o.lock_expires_at <= now][:limit]

    def lock_census(self, now: datetime) -> LockCensus:
        held = self._held()
        expired = [o for o in held if o.lock_expires_at <= now]
        return LockCensus(active=len(held) - len(expired), expired_unreleased=len(expired),
                          oldest_expired_at=expired[0].lock_expires_at if expired else None)

    def order_for_awb(self, awb: str) -> str | None:
        return self.awbs.get(awb)

    def needing_attention(self, limit: int) -> list[Order]:
        # by-attention: (attention, updated_at), oldest first, attention = SHIPMENT_FAILED.
        flagged = [self.orders[i] for i, why in self.attention.items() if why == OrderStatus.SHIPMENT_FAILED.value]
        return [_listed(o) for o in sorted(flagged, key=lambda o: o.updated_at)][:limit]

    def open_refunds(self, limit: int) -> list[tuple[str, str]]:
        # by-open-refund: (refund_open, requested_at), oldest first.
        found: list[tuple[datetime, str, RefundRecord]] = [
            (r.requested_at, o.order_id, r) for o in self.orders.values() for r in o.refunds if r.state.open]
        return [(order_id, r.merchant_refund_id) for _, order_id, r in sorted(found, key=lambda f: f[0])][:limit]

    # -- for tests ------------------------------------------------------------------------

    def events(self, order_id: str | None = None) -> list[str]:
        """The outbox's event types (of one order, or all), in commit order."""
        return [e.event_type.value for e in self.outbox if order_id is None or e.order_id == order_id]

    def outbox_records(self) -> list[OutboxRecord]:
        """The outbox as the stream hands it to the relay."""
        return [OutboxRecord(position=str(n), event_id=e.event_id, event_type=e.event_type.value, body=e.to_json())
                for n, e in enumerate(self.outbox, start=1)]


class FakeShipmentJobs:
    def __init__(self) -> None:
        self.queued: list[str] = []

    def enqueue(self, order_id: str) -> None:
        self.queued.append(order_id)


# -- payment records (ORDER#<id> / PAYMENT) ----------------------------------------------------


class FakePaymentRecords:
    """PaymentRecords with the conditions of DynamoDbPaymentRecords.

    The record shares the order's table and partition, so FakeOrderBook writes it inside its own
    transactions too (open_put in place, settle_update in a PAID transition's amendment): the
    can_* / do_* pairs below are those writes' conditions and effects, as FakeStock's are."""

    def __init__(self) -> None:
        self.records: dict[str, PaymentRecord] = {}

    # The conditions of open_put and settle_update, checked without writing, then applied.

    def can_open(self, record: PaymentRecord) -> bool:
        return record.order_id not in self.records  # attribute_not_exists(pk)

    def do_open(self, record: PaymentRecord) -> None:
        # The adapter writes next_check_at only while the record is open, and reads it so.
        self.records[record.order_id] = record if record.open else replace(record, next_check_at=None)

    def can_settle(self, order_id: str, state: CheckState) -> bool:
        # "attribute_exists(pk) AND (check_state = :open OR payment_state <> :state)"
        stored = self.records.get(order_id)
        return stored is not None and (stored.open or stored.state is not state)

    def do_settle(self, order_id: str, state: CheckState, note: str | None = None) -> None:
        stored = self.records[order_id]
        self.records[order_id] = replace(stored, state=state, next_check_at=None, checks=stored.checks + 1,
                                         note=note[:500] if note else stored.note)

    # -- PaymentRecords (each write alone) --------------------------------------------------

    def open(self, record: PaymentRecord) -> PaymentRecord:
        # Put with attribute_not_exists(pk); a retried checkout gets the stored one back.
        if not self.can_open(record):
            return self.records[record.order_id]
        self.do_open(record)
        return record

    def get(self, order_id: str) -> PaymentRecord | None:
        return self.records.get(order_id)

    def reschedule(self, record: PaymentRecord, next_check_at: datetime) -> None:
        stored = self.records.get(record.order_id)
        if stored is None or not stored.open:  # "check_state = :open"; refused quietly
            return
        self.records[record.order_id] = replace(stored, next_check_at=next_check_at, checks=stored.checks + 1)

    def settle(self, record: PaymentRecord, state: CheckState, note: str | None = None) -> bool:
        if not self.can_settle(record.order_id, state):
            return False
        self.do_settle(record.order_id, state, note)
        return True

    def _open(self) -> list[PaymentRecord]:
        # The sparse by-payment-check index: (check_state = OPEN, next_check_at).
        return sorted((r for r in self.records.values() if r.open and r.next_check_at is not None),
                      key=lambda r: r.next_check_at or AT)

    def due(self, now: datetime, limit: int) -> list[PaymentRecord]:
        return [r for r in self._open() if r.next_check_at is not None and r.next_check_at <= now][:limit]

    def census(self, now: datetime, limit: int) -> PaymentCensus:
        records = self._open()
        overdue = sum(1 for r in records if r.next_check_at is not None and r.next_check_at <= now)
        return PaymentCensus(len(records), overdue, tuple(r.order_id for r in records[:limit]))


# -- Idempotency-Keys (the `idempotency` table) ------------------------------------------------


class FakeIdempotencyTable:
    """The `idempotency` table's records by id, as IdempotencyKeys writes them: `status`,
    `body_hash`, `token`, `in_progress_until` (epoch ms, while in progress), `expiration` (epoch
    s) and `response` (JSON text, once completed). Shared by FakeOrderBook, which claims a key in
    place's transaction, and FakeIdempotencyKeys (complete, release), as the table is.

    Records never expire by themselves here (no TTL sweep); an expired one is only ever taken
    over by a claim, which the claim's condition allows on DynamoDB too."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def can_claim(self, claim: KeyClaim) -> bool:
        # "attribute_not_exists(id) OR #expiration < :now_s
        #  OR (#status = :in_progress AND in_progress_until < :now_ms)"
        existing = self.items.get(claim.record_id)
        return (existing is None or existing["expiration"] < claim.now_ms // 1000
                or (existing["status"] == IN_PROGRESS and "in_progress_until" in existing
                    and existing["in_progress_until"] < claim.now_ms))

    def do_claim(self, claim: KeyClaim) -> None:
        self.items[claim.record_id] = {
            "id": claim.record_id, "status": IN_PROGRESS, "body_hash": claim.body_hash, "token": claim.token,
            "in_progress_until": claim.in_progress_until_ms, "expiration": claim.expiration,
        }

    def taken(self, claim: KeyClaim) -> KeyTaken:
        """What the adapter raises when the claim's condition failed: the record in the way, handed
        back as the cancellation reason's Item (ReturnValuesOnConditionCheckFailure ALL_OLD) and
        decoded as the transaction builder decodes it."""
        return claim.taken(from_item(to_item(self.items[claim.record_id])))

    def of(self, claim: KeyClaim) -> dict[str, Any] | None:
        """The key's record, if it has one (for tests)."""
        return self.items.get(claim.record_id)


class FakeIdempotencyKeys(IdempotencyKeys):
    """IdempotencyKeys over a FakeIdempotencyTable: the real claim and answer, with complete and
    release writing to the table under the adapter's conditions (`#token = :token`: only the
    claim's own holder). As there, a refused complete or release is swallowed, not raised.

    Unlike the adapter, which stamps a completed record's expiration from the wall clock, this
    one counts it from the claim's `now` (tests move a Clock, not time.time)."""

    def __init__(self, table: FakeIdempotencyTable, operation: str = "checkout"):
        super().__init__(operation, "idempotency", client=None)
        self.table = table

    def _held(self, claim: KeyClaim) -> dict[str, Any] | None:
        item = self.table.items.get(claim.record_id)
        return item if item is not None and item.get("token") == claim.token else None

    def complete(self, claim: KeyClaim, response: dict[str, Any]) -> None:
        item = self._held(claim)
        if item is None:
            return  # ConditionalCheckFailed: another request took the key over; logged there
        item.pop("in_progress_until", None)
        item.update(status=COMPLETED, response=json.dumps(response, separators=(",", ":")),
                    expiration=claim.now_ms // 1000 + int(self._keep.total_seconds()))

    def release(self, claim: KeyClaim) -> None:
        if self._held(claim) is not None:
            del self.table.items[claim.record_id]


# -- PhonePe ------------------------------------------------------------------------------------


class FakePhonePe:
    """A PaymentProvider whose answers the test scripts.

    A payment is made by create_payment (idempotent on the merchant order id) and decided with
    `complete` / `decline`; `order_status` reports it. `script_status(id, *answers)` overrides
    what order_status answers, one answer per call (the last one repeats); an answer that is an
    exception is raised. `fail_next(call, error, times)` makes the next calls of a method raise
    (PaymentProviderUnavailable for an outage, PaymentProviderRejected for a refusal) before
    anything happens. Refunds work alike: `refund` records one (idempotent on the merchant refund
    id) in `refund_state_on_create`, `settle_refund` moves it, `refund_status` reports it.

    Unlike PhonePe, a repeated create_payment hands the same redirect out again (PhonePe may not),
    and amounts are not checked against the payment on refund."""

    api_version = "v2"

    def __init__(self) -> None:
        self.payments: dict[str, dict] = {}
        self.refunds: dict[str, RefundStatus] = {}
        self.calls: list[tuple[str, str]] = []
        self._scripted: dict[str, list] = {}
        self._failures: dict[str, list[Exception]] = {}
        self.refund_state_on_create = RefundState.PENDING

    # -- scripting ------------------------------------------------------------------------

    def fail_next(self, call: str, error: Exception, times: int = 1) -> None:
        self._failures.setdefault(call, []).extend([error] * times)

    def script_status(self, merchant_order_id: str, *answers: PaymentStatus | Exception) -> None:
        self._scripted[merchant_order_id] = list(answers)

    def complete(self, merchant_order_id: str, amount_paise: int | None = None) -> None:
        payment = self.payments.setdefault(merchant_order_id, {"amount": amount_paise or 0})
        payment.update(state=PaymentState.COMPLETED, amount=amount_paise if amount_paise is not None
                       else payment["amount"])

    def decline(self, merchant_order_id: str) -> None:
        self.payments[merchant_order_id]["state"] = PaymentState.FAILED

    def settle_refund(self, merchant_refund_id: str, state: RefundState) -> None:
        self.refunds[merchant_refund_id] = replace(self.refunds[merchant_refund_id], state=state)

    def _call(self, call: str, subject: str) -> None:
        self.calls.append((call, subject))
        pending = self._failures.get(call)
        if pending:
            raise pending.pop(0)

    # -- PaymentProvider ------------------------------------------------------------------

    def create_payment(self, merchant_order_id: str, amount_paise: int, redirect_url: str,
                       callback_url: str) -> PaymentCreated:
        self._call("create_payment", merchant_order_id)
        payment = self.payments.setdefault(merchant_order_id, {"amount": amount_paise, "state": PaymentState.PENDING,
                                                                "return_to": redirect_url})
        return PaymentCreated(merchant_order_id=merchant_order_id, provider_order_id=f"OMO{merchant_order_id[-8:]}",
                              redirect_url=f"https://phonepe.fake/pay/{merchant_order_id}",
                              state=payment["state"])

    def order_status(self, merchant_order_id: str) -> PaymentStatus:
        self._call("order_status", merchant_order_id)
        script = self._scripted.get(merchant_order_id)
        if script:
            answer = script.pop(0) if len(script) > 1 else script[0]
            if isinstance(answer, Exception):
                raise answer
            return answer
        payment = self.payments.get(merchant_order_id)
        if payment is None:
            raise PaymentNotFound(f"PhonePe knows no order {merchant_order_id}")
        return PaymentStatus(merchant_order_id=merchant_order_id, state=payment["state"],
                             amount_paise=payment["amount"], provider_order_id=f"OMO{merchant_order_id[-8:]}",
                             transaction_id="T1" if payment["state"] is PaymentState.COMPLETED else None)

    def refund(self, merchant_refund_id: str, merchant_order_id: str, amount_paise: int,
               callback_url: str) -> RefundStatus:
        self._call("refund", merchant_refund_id)
        if merchant_refund_id not in self.refunds:
            self.refunds[merchant_refund_id] = RefundStatus(
                merchant_refund_id=merchant_refund_id, state=self.refund_state_on_create, amount_paise=amount_paise,
                provider_refund_id=f"OMR{merchant_refund_id[-8:]}", merchant_order_id=merchant_order_id)
        return self.refunds[merchant_refund_id]

    def refund_status(self, merchant_refund_id: str) -> RefundStatus:
        self._call("refund_status", merchant_refund_id)
        if merchant_refund_id not in self.refunds:
            raise PaymentNotFound(f"PhonePe knows no refund {merchant_refund_id}")
        return self.refunds[merchant_refund_id]


# -- Shiprocket -----------------------------------------------------------------------------------


class FakeShippingProvider:
    """A ShippingProvider keeping Shiprocket's rules: one order per channel order id (a second
    create is DuplicateChannelOrder), an AWB is assigned once, a pickup needs the AWB and is
    booked once. `fail_next(call, error, after=False)` makes the next call of `call` ("find",
    "create", "awb", "pickup", "track", "cancel") raise; with after=True the call takes effect
    first (a timeout that hid a success). `tracks[awb]` is what track answers."""

    def __init__(self) -> None:
        self.orders: dict[str, ProviderOrder] = {}
        self.tracks: dict[str, TrackingSnapshot] = {}
        self.calls: list[str] = []
        self._failures: dict[str, list[tuple[Exception, bool]]] = {}
        self._ids = count(1)

    def fail_next(self, call: str, error: Exception, *, after: bool = False, times: int = 1) -> None:
        self._failures.setdefault(call, []).extend([(error, after)] * times)

    def _step(self, call: str, action):
        self.calls.append(call)
        pending = self._failures.get(call)
        if pending and not pending[0][1]:
            raise pending.pop(0)[0]
        result = action()
        if pending and pending[0][1]:
            raise pending.pop(0)[0]
        return result

    def _key(self, shipment_id: int) -> str:
        return next(k for k, o in self.orders.items() if o.shipment_id == shipment_id)

    def find_order_by_channel_order_id(self, channel_order_id: str) -> ProviderOrder | None:
        return self._step("find", lambda: self.orders.get(channel_order_id))

    def create_order(self, request: ShipmentRequest) -> ProviderOrder:
        def create() -> ProviderOrder:
            if request.channel_order_id in self.orders:
                raise DuplicateChannelOrder("The order id has already been taken.", status=422)
            n = next(self._ids)
            order = ProviderOrder(channel_order_id=request.channel_order_id, provider_order_id=1000 + n,
                                  shipment_id=2000 + n, status="NEW")
            self.orders[request.channel_order_id] = order
            return order
        return self._step("create", create)

    def assign_awb(self, shipment_id: int) -> AwbAssignment:
        def assign() -> AwbAssignment:
            key = self._key(shipment_id)
            if self.orders[key].awb:
                raise ProviderRejected("Cannot reassign courier", status=400)
            awb = f"AWB{shipment_id}"
            self.orders[key] = self.orders[key].model_copy(update={"awb": awb, "courier_name": "Delhivery",
                                                                   "status": "READY TO SHIP"})
            return AwbAssignment(shipment_id=shipment_id, awb=awb, courier_name="Delhivery")
        return self._step("awb", assign)

    def generate_pickup(self, shipment_id: int) -> PickupBooking:
        def pickup() -> PickupBooking:
            key = self._key(shipment_id)
            if not self.orders[key].awb:
                raise ProviderRejected("AWB not assigned", status=400)
            if self.orders[key].pickup_booked:
                raise ProviderRejected("Already in Pickup Queue", status=400)
            self.orders[key] = self.orders[key].model_copy(update={"pickup_scheduled_date": "2026-11-24 10:00:00"})
            return PickupBooking(shipment_id=shipment_id, pickup_scheduled_date="2026-11-24 10:00:00", token_number="7")
        return self._step("pickup", pickup)

    def track(self, *, awb: str | None = None, shipment_id: int | None = None) -> TrackingSnapshot:
        return self._step("track", lambda: self.tracks[awb or ""])

    def cancel(self, provider_order_id: int) -> None:
        def cancel() -> None:
            key = next(k for k, o in self.orders.items() if o.provider_order_id == provider_order_id)
            self.orders[key] = self.orders[key].model_copy(update={"status": "CANCELED"})
        self._step("cancel", cancel)


# -- the catalogue ---------------------------------------------------------------------------------


class FakeProducts:
    """The catalog Products port; opening stock goes to the shared FakeStock.

    Unlike DynamoDbProducts.page, the position is opaque and the order is by product id only."""

    def __init__(self, stock: FakeStock | None = None):
        self.stock = stock if stock is not None else FakeStock()
        self.products: dict[str, Product] = {}

    def add(self, product: Product, opening_stock: dict[str, int]) -> None:
        if product.product_id in self.products or any(v in self.stock.variants for v in opening_stock):
            raise RuntimeError("product or variant exists already (TransactionCanceledException)")
        self.products[product.product_id] = product
        for variant_id, units in opening_stock.items():
            self.stock.receive(variant_id, units)

    def get(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        return {p: self.products[p] for p in set(product_ids) if p in self.products}

    def replace(self, product: Product, previous: Product, new_stock: dict[str, int]) -> None:
        stored = self.products.get(product.product_id)
        if stored is None or stored.updated_at != previous.updated_at:  # "updated_at = :u"
            raise ConcurrentEdit()
        if any(v in self.stock.variants for v in new_stock):
            raise RuntimeError("variant has stock counters already (TransactionCanceledException)")
        self.products[product.product_id] = product
        for variant_id, units in new_stock.items():
            self.stock.receive(variant_id, units)

    def page(self, *, category: str | None, seller_id: str | None, limit: int,
             after: dict | None) -> tuple[list[Product], dict | None]:
        found = sorted((p for p in self.products.values()
                        if (category is None or p.category == category)
                        and (seller_id is None or p.seller_id == seller_id)),
                       key=lambda p: p.product_id, reverse=True)
        if after is not None:
            found = [p for p in found if p.product_id < after["product_id"]]
        page = found[:limit]
        return page, ({"product_id": page[-1].product_id} if len(found) > limit and page else None)


# -- notifications ----------------------------------------------------------------------------------


@dataclass
class _Stored:
    notification: Notification
    deliveries: dict[Channel, Delivery] = field(default_factory=dict)
    read_at: datetime | None = None


class FakeFeeds:
    """Feeds with DynamoDbFeeds' key: (user, occurred_at, notification id). The dedupe is on
    that whole key, as there: the same id with another occurred_at would be a second entry
    (producers make both from the same event, so it does not happen). Entries never expire here.
    Claims and settlements check the same conditions as the adapter's conditional updates."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], _Stored] = {}  # (user, sort key) -> entry

    @staticmethod
    def _sort_key(notification: Notification) -> str:
        occurred = notification.occurred_at.astimezone(UTC).isoformat(timespec="milliseconds")
        return f"NTF#{occurred}#{notification.notification_id}"

    def add_once(self, notification: Notification, deliveries: dict[Channel, Delivery]) -> dict[Channel, Delivery]:
        key = (notification.user_id, self._sort_key(notification))
        if key in self.entries:
            return dict(self.entries[key].deliveries)
        self.entries[key] = _Stored(notification, dict(deliveries))
        return dict(deliveries)

    def _stored(self, notification: Notification) -> _Stored | None:
        return self.entries.get((notification.user_id, self._sort_key(notification)))

    def claim(self, notification: Notification, channel: Channel, at: datetime,
              lease_until: datetime) -> Delivery | None:
        stored = self._stored(notification)
        current = stored.deliveries.get(channel) if stored else None
        if stored is None or current is None:
            return None
        expired = (current.state is DeliveryState.SENDING and current.lease_until is not None
                   and current.lease_until < at)
        if current.state is not DeliveryState.PENDING and not expired:
            return None
        claimed = current.model_copy(update={"state": DeliveryState.SENDING, "at": at, "lease_until": lease_until,
                                             "attempts": current.attempts + 1})
        stored.deliveries[channel] = claimed
        return claimed

    def delivery(self, notification: Notification, channel: Channel) -> Delivery | None:
        stored = self._stored(notification)
        return stored.deliveries.get(channel) if stored else None

    def settle(self, notification: Notification, channel: Channel, claimed: Delivery, outcome: Delivery) -> bool:
        stored = self._stored(notification)
        current = stored.deliveries.get(channel) if stored else None
        if stored is None or current is None or current.state is not DeliveryState.SENDING \
                or current.lease_until != claimed.lease_until:
            return False
        stored.deliveries[channel] = outcome
        return True

    def _mine(self, user_id: str) -> list[tuple[str, _Stored]]:
        return sorted(((sk, e) for (user, sk), e in self.entries.items() if user == user_id), reverse=True,
                      key=lambda pair: pair[0])

    @staticmethod
    def _entry(stored: _Stored) -> FeedEntry:
        n = stored.notification
        return FeedEntry(notification_id=n.notification_id, kind=n.kind.value, title=n.title, body=n.body,
                         occurred_at=n.occurred_at, read_at=stored.read_at,
                         deliveries={c.value: d for c, d in stored.deliveries.items()})

    def page(self, user_id: str, limit: int, after: dict | None) -> tuple[list[FeedEntry], dict | None]:
        mine = self._mine(user_id)
        if after is not None:
            mine = [(sk, e) for sk, e in mine if sk < after["sk"]]
        page = mine[:limit]
        position = {"pk": f"USER#{user_id}", "sk": page[-1][0]} if len(mine) > limit and page else None
        return [self._entry(e) for _, e in page], position

    def unread_count(self, user_id: str) -> int:
        return sum(1 for _, e in self._mine(user_id) if e.read_at is None)

    def mark_read(self, user_id: str, notification_id: str, at: datetime) -> FeedEntry | None:
        for _, stored in self._mine(user_id):
            if stored.notification.notification_id == notification_id:
                stored.read_at = stored.read_at or at  # if_not_exists(read_at, :at)
                return self._entry(stored)
        return None

    def mark_all_read(self, user_id: str, at: datetime) -> int:
        unread = [stored for _, stored in self._mine(user_id) if stored.read_at is None]
        for stored in unread:
            stored.read_at = at
        return len(unread)

    def of(self, user_id: str) -> list[FeedEntry]:
        return [self._entry(e) for _, e in self._mine(user_id)]


class FakePreferences:
    def __init__(self) -> None:
        self.stored: dict[str, Preferences] = {}

    def get(self, user_id: str) -> Preferences:
        return self.stored.get(user_id, Preferences())

    def put(self, user_id: str, preferences: Preferences, at: datetime) -> None:
        self.stored[user_id] = preferences


@dataclass
class FakeDeliveryQueue:
    sent: list[DeliveryRequest] = field(default_factory=list)

    def enqueue(self, request: DeliveryRequest) -> None:
        self.sent.append(request)


@dataclass
class FakeRecipients:
    people: dict[str, Recipient] = field(default_factory=dict)

    def recipient(self, user_id: str) -> Recipient | None:
        return self.people.get(user_id)


@dataclass
class FakeProvider:
    """A mailer or texter: records what it sent; `fail_with` queues exceptions to raise first."""

    sent: list[Any] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)

    def send(self, *message: Any) -> str:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(message[0] if len(message) == 1 else message)
        return f"msg-{len(self.sent)}"


# -- the relay's queues ------------------------------------------------------------------------------


@dataclass
class FakeEventQueues:
    """EventQueues: what each queue received, in order. `refuse[queue]` names event ids that
    queue does not take (a failed send), once each."""

    received: dict[str, list[str]] = field(default_factory=dict)
    refuse: dict[str, set[str]] = field(default_factory=dict)

    def send(self, queue: str, records: Sequence[OutboxRecord]) -> set[str]:
        refused = self.refuse.get(queue, set())
        failed = {r.event_id for r in records if r.event_id in refused}
        self.refuse[queue] = refused - failed
        self.received.setdefault(queue, []).extend(r.event_id for r in records if r.event_id not in failed)
        return failed


def ids_of(events: Iterable[OrderEvent]) -> list[str]:
    return [e.event_id for e in events]


# -- a shop made of fakes ---------------------------------------------------------------------------


@dataclass
class Shop:
    """Every fake wired as the functions wire the real adapters, with one product of two
    variants, and checkout's PaymentStarter being the real PhonePePayments over FakePhonePe.
    It is also checkout_once's kit (bazaar.checkout.wiring.Checkout): clock, keys, products,
    orders, payments, policy, new_id."""

    clock: Clock = field(default_factory=Clock)
    stock: FakeStock = field(default_factory=FakeStock)
    phonepe: FakePhonePe = field(default_factory=FakePhonePe)
    records: FakePaymentRecords = field(default_factory=FakePaymentRecords)
    idempotency: FakeIdempotencyTable = field(default_factory=FakeIdempotencyTable)
    feeds: FakeFeeds = field(default_factory=FakeFeeds)
    notification_preferences: FakePreferences = field(default_factory=FakePreferences)
    deliveries: FakeDeliveryQueue = field(default_factory=FakeDeliveryQueue)
    shiprocket: FakeShippingProvider = field(default_factory=FakeShippingProvider)
    jobs: FakeShipmentJobs = field(default_factory=FakeShipmentJobs)
    hold_cap: int = 10
    lock_minutes: int = 15

    @property
    def outlets(self):
        from bazaar.notifications.services import Outlets

        return Outlets(self.feeds, self.notification_preferences, self.deliveries, self.clock)

    def __post_init__(self) -> None:
        from bazaar.catalog.domain import Variant
        from bazaar.checkout.adapters.payments import PhonePePayments
        from bazaar.checkout.domain import LockPolicies, LockPolicy
        from bazaar.money import Paise
        from bazaar.orders.domain import ShippingAddress
        from bazaar.orders.settlement import Settler
        from bazaar.payments.domain import StatusCheckPlan
        from bazaar.payments.services import PaymentLinks

        self.new_id = sequential_ids()
        self.products = FakeProducts(self.stock)
        self.orders = FakeOrderBook(self.stock, self.records, self.idempotency)
        self.keys = FakeIdempotencyKeys(self.idempotency)
        self.plan = StatusCheckPlan()
        self.policy = LockPolicy(expiry=timedelta(minutes=self.lock_minutes), hold_cap=self.hold_cap)
        self.policies = LockPolicies(self.policy, self.policy, holds_for_payment=lambda customer_id: False)
        self.started: list[str] = []
        self.payments = PhonePePayments(lambda: self.phonepe, self.records,
                                        PaymentLinks("https://shop.example/orders", "https://api.example/webhooks"),
                                        self.plan, on_started=lambda o: self.started.append(o.order_id))
        self.settler = Settler(self.orders, self.records, self.plan, self.clock)
        self.address = ShippingAddress(name="Asha Rao", phone="9876543210", line1="12 MG Road", city="Pune",
                                       state="Maharashtra", pincode="411001")
        self.product = Product(
            product_id="prd_MUG", seller_id="usr_SELLER", title="Mug", description="", category="kitchen",
            variants=(Variant("var_RED", "MUG-RED", "Red", Paise(24_900)),
                      Variant("var_BLUE", "MUG-BLUE", "Blue", Paise(29_900))),
            created_at=AT, updated_at=AT)
        self.products.add(self.product, {"var_RED": 5, "var_BLUE": 2})

    def _body(self, lines: tuple[tuple[str, int], ...]) -> dict:
        return {"items": [{"product_id": self.product.product_id, "variant_id": v, "quantity": q} for v, q in lines],
                "shipping_address": vars(self.address)}

    def _command(self, lines: tuple[tuple[str, int], ...], customer: str, key: KeyClaim | None):
        from bazaar.checkout.domain import CartLine
        from bazaar.checkout.services import CheckoutCommand

        return CheckoutCommand(customer, tuple(CartLine(self.product.product_id, v, q) for v, q in lines),
                               self.address, key=key)

    def claim(self, key: str, *lines: tuple[str, int], customer: str = "usr_ASHA") -> KeyClaim:
        """The customer's claim on an Idempotency-Key for a checkout of these lines."""
        return self.keys.claim(caller=customer, key=key, body=self._body(lines), now=self.clock())

    def checkout(self, *lines: tuple[str, int], customer: str = "usr_ASHA", key: KeyClaim | None = None):
        """Checks out (variant id, quantity) lines of the shop's product; returns the result."""
        from bazaar.checkout.services import checkout

        return checkout(self._command(lines, customer, key), self.products, self.orders, self.payments, self.policy,
                        self.clock, self.new_id, self.keys)

    def post_checkout(self, key: str, *lines: tuple[str, int], customer: str = "usr_ASHA") -> dict:
        """POST /v1/checkout's use case (checkout_once, the shop as its kit): the key claimed in
        the order's transaction and the response stored for it; a key that has a record is
        answered from it (or refused). Returns the response body."""
        from bazaar.checkout.schemas import CheckoutOut
        from bazaar.checkout.services import checkout_once

        return checkout_once(customer, key, self._body(lines), lambda claim: self._command(lines, customer, claim),
                             self, lambda result: CheckoutOut.of(result).model_dump(mode="json"))

    def paid_order(self, *lines: tuple[str, int], customer: str = "usr_ASHA") -> Order:
        """An order checked out and paid within its lock."""
        from bazaar.orders.settlement import confirm_payment

        order = self.checkout(*(lines or (("var_RED", 2),)), customer=customer).order
        return confirm_payment(order.order_id, order.total, self.orders, self.clock)

    def counters(self, variant_id: str = "var_RED") -> tuple[int, int, int]:
        """(available, locked, sold) of a variant."""
        level = self.stock.level(variant_id)
        return level.available, level.locked, level.sold
