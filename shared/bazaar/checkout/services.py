"""Use cases of checkout: lock a cart's stock into an order awaiting payment; deduct it when the
payment is confirmed; give expired locks back. Payment confirmation and cleanup race safely:
both are conditional writes on the order's status, so exactly one wins."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bazaar.catalog.domain import LockLimitReached
from bazaar.catalog.ports import Products
from bazaar.checkout.domain import CartLine, CleanupReport, LockPolicy, UnknownItem, merge_lines
from bazaar.checkout.ports import PaymentStart, PaymentStarter, RequestKeys
from bazaar.ops.domain import JobRun
from bazaar.ops.ports import JobRuns
from bazaar.orders.domain import (
    HistoryEntry,
    Order,
    OrderLine,
    OrderStatus,
    ShippingAddress,
    StaleOrder,
)
from bazaar.orders.ports import OrderBook
from bazaar.orders.services import change_status
from bazaar.platform.clock import Clock, fixed
from bazaar.platform.faults import crash_point
from bazaar.platform.idempotency import KeyClaim, KeyTaken
from bazaar.platform.observability import logger

STOCK_CLEANUP_JOB = "stock-cleanup"


@dataclass(frozen=True)
class CheckoutCommand:
    customer_id: str
    lines: tuple[CartLine, ...]
    shipping_address: ShippingAddress
    key: KeyClaim | None = None  # the request's Idempotency-Key, claimed in the order's transaction


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    payment: PaymentStart


def checkout(
    command: CheckoutCommand,
    products: Products,
    orders: OrderBook,
    payments: PaymentStarter,
    policy: LockPolicy,
    clock: Clock,
    new_id: Callable[[str], str],
    keys: RequestKeys | None = None,
) -> CheckoutResult:
    """Three DynamoDB round trips on success: the catalogue read, one transaction (below), and
    the caller's write of the response for the Idempotency-Key. Raises KeyTaken (from the order
    book) when the key already has a record: nothing was written, the caller answers from it."""
    lines = merge_lines(command.lines)
    catalogue = products.get_many([line.product_id for line in lines])
    priced, unknown = [], []
    for position, line in enumerate(lines):
        product = catalogue.get(line.product_id)
        variant = product.variant(line.variant_id) if product else None
        if product is None or variant is None:
            unknown.append(position)
            continue
        priced.append(OrderLine(product.product_id, variant.variant_id, variant.sku,
                                f"{product.title} ({variant.title})", variant.price, line.quantity,
                                product.seller_id, product.category))
    if unknown:
        raise UnknownItem(unknown)
    units = sum(line.quantity for line in priced)
    if units > policy.hold_cap:
        raise LockLimitReached(policy.hold_cap)
    now = clock()
    order = Order(
        order_id=new_id("ord"),
        customer_id=command.customer_id,
        status=OrderStatus.PAYMENT_PENDING,
        lines=tuple(priced),
        shipping_address=command.shipping_address,
        created_at=now,
        updated_at=now,
        lock_expires_at=policy.expires_at(now),
        history=(HistoryEntry(now, None, OrderStatus.PAYMENT_PENDING, "checked out; stock locked"),),
    )
    record = payments.record_for(order, now)
    # One transaction: every line locked, the customer's hold, the order, its history and
    # OrderPlaced event, its payment record (written before PhonePe is asked, so reconciliation
    # follows it whatever happens next) and the Idempotency-Key's claim. Or OutOfStock /
    # LockLimitReached / KeyTaken, and none of it.
    orders.place(order, policy.hold_cap, actor=f"customer:{command.customer_id}", payment=record, key=command.key)
    crash_point("checkout.placed_before_payment_requested")
    try:
        payment = payments.start(order, record)
    except Exception as failure:
        # No orphan: the shopper cannot pay this order, so its stock goes back at once, and the
        # key is freed: a retry with it makes a new order (this one failed for good).
        _release_unpayable(order, orders, now, f"payment could not be started ({type(failure).__name__})")
        if command.key is not None and keys is not None:
            keys.release(command.key)
        raise
    crash_point("checkout.payment_requested_before_answer")
    return CheckoutResult(order, payment)


def _release_unpayable(order: Order, orders: OrderBook, now: datetime, reason: str) -> None:
    def decide(current: Order):
        if current.status is not OrderStatus.PAYMENT_PENDING:
            return None
        return current.transition(OrderStatus.PAYMENT_FAILED, now, reason)

    try:
        change_status(orders, order.order_id, decide)
    except Exception:  # noqa: BLE001 - the cleanup still releases it when its lock expires
        logger.exception("could not release an order whose payment did not start", extra={"order_id": order.order_id})


def release_expired_locks(orders: OrderBook, clock: Clock, batch_size: int = 100) -> CleanupReport:
    """Gives back every lock that expired by the clock's time when the run begins (one moment for
    the whole run) and moves its order to EXPIRED. Each order is
    one conditional write (still PAYMENT_PENDING and lock_expires_at <= now), so a payment or a
    cancel that lands first simply wins, and running this twice (or twice at once) is harmless."""
    now = clock()
    expired = units = lost = errors = 0
    seen: set[str] = set()
    while True:
        batch = [o for o in orders.holding_expired_locks(now, batch_size) if o.order_id not in seen]
        if not batch:
            break
        for order in batch:
            seen.add(order.order_id)
            try:
                orders.apply(order.transition(OrderStatus.EXPIRED, now, "stock lock expired",
                                              actor="system:stock-cleanup", only_if_lock_expired_by=now))
                expired += 1
                units += order.units
            except StaleOrder:
                lost += 1
            except Exception:  # noqa: BLE001 - one bad order must not stop the others' release
                logger.exception("could not release an expired lock", extra={"order_id": order.order_id})
                errors += 1
    census = orders.lock_census(now)
    return CleanupReport(expired, units, lost, errors, census.oldest_expired_at, census.expired_unreleased)


def run_stock_cleanup(
    orders: OrderBook, job_runs: JobRuns, clock: Callable[[], datetime], *, manual: bool
) -> tuple[JobRun, CleanupReport]:
    """The cleanup as a recorded job run (scheduled or started by an admin)."""
    started, timer = clock(), time.perf_counter()
    try:
        report = release_expired_locks(orders, fixed(started))
        problem = f"{report.errors} orders could not be released" if report.errors else None
    except Exception as error:
        run = JobRun(STOCK_CLEANUP_JOB, started, _ms(timer), False, {"manual": int(manual)}, type(error).__name__)
        job_runs.record(run)
        raise
    run = JobRun(
        job=STOCK_CLEANUP_JOB,
        started_at=started,
        duration_ms=_ms(timer),
        succeeded=report.errors == 0,
        summary={
            "orders_expired": report.orders_expired,
            "locks_released": report.units_released,
            "lost_races": report.lost_races,
            "errors": report.errors,
            "manual": int(manual),
        },
        error=problem,
    )
    job_runs.record(run)
    return run, report


@dataclass(frozen=True)
class CleanupStatus:
    runs: list[JobRun]
    next_scheduled_at: datetime | None
    interval: timedelta


def stock_cleanup_status(job_runs: JobRuns, interval: timedelta, limit: int = 10) -> CleanupStatus:
    runs = job_runs.latest(STOCK_CLEANUP_JOB, limit)
    # EventBridge fires a rate schedule every `interval` after the last scheduled firing; manual
    # runs do not move it.
    last_scheduled = next((r for r in runs if not r.summary.get("manual")), None)
    return CleanupStatus(runs, last_scheduled.started_at + interval if last_scheduled else None, interval)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def checkout_once(customer_id: str, key: str, cart: dict, command: Callable[[KeyClaim], CheckoutCommand],
                  kit, present: Callable[[CheckoutResult], dict]) -> dict:
    """A checkout answered once per Idempotency-Key (`kit`: bazaar.checkout.wiring.Checkout): the
    key's claim rides in the checkout's own transaction; a key that already has a record is
    answered from it (the first response again, 422 for another body, 409 while it runs), and a
    new checkout's response is stored for the key."""
    now = kit.clock()  # one moment for the key's claim and the order it makes
    claim = kit.keys.claim(caller=customer_id, key=key, body=cart, now=now)
    try:
        result = checkout(command(claim), kit.products, kit.orders, kit.payments,
                          kit.policies.for_customer(customer_id), fixed(now), kit.new_id,
                          kit.keys)
    except KeyTaken as taken:
        return kit.keys.answer(claim, taken)  # nothing was written
    body = present(result)
    kit.keys.complete(claim, body)
    return body
