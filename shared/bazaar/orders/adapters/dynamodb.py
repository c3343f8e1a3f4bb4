"""Orders and their history in the `orders` table; each transition is one TransactWriteItems
with the stock moves from the catalogue's StockWrites.

Items:
- `ORDER#<id>` / `ORDER`: the order. `lock_state = HELD` and `lock_expires_at` only while it
  holds stock locks (the sparse `by-lock-expiry` index is then exactly the set of held locks).
- `ORDER#<id>` / `HISTORY#<version>`: one per status change, never updated; it carries
  `expires_at` (epoch seconds) so DynamoDB's TTL deletes it after ORDER_HISTORY_RETENTION_DAYS.
  Order, refund, AWB and payment items never have `expires_at`: the order outlives its history.
- After PAID: the order item gains `shipment` (the provider's ids and AWB), `attention`
  (sparse `by-attention` index: orders an admin must look at, e.g. SHIPMENT_FAILED) and
  `scan_keys`; `AWB#<awb>` / `AWB` maps an AWB to its order (written with SHIPMENT_CREATED);
  `ORDER#<id>` / `REFUND#<nn>`: one per refund, `refund_open` set while it is not settled
  (sparse `by-open-refund` index, what the refund-status poll reads).
- `ORDER#<id>` / `PAYMENT`: the order's payment (bazaar.payments.adapters.dynamodb).
The `by-status` index (status, updated_at) covers order items only (history items name their
status `to_status`), so operators can list the orders in a status (NEEDS_REFUND) and count those
that changed in a time window (diagnostics' last 24 hours)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bazaar.catalog.adapters.dynamodb import DynamoDbStock, StockWrites
from bazaar.catalog.domain import LockLimitReached, OutOfStock, StockMove
from bazaar.money import Paise
from bazaar.orders.events import OrderEvent
from bazaar.orders.domain import (
    HistoryEntry,
    Order,
    OrderLine,
    OrderStatus,
    RefundRecord,
    RefundState,
    ShipmentRecord,
    PaymentAlreadySettled,
    ShippingAddress,
    StaleOrder,
    Transition,
)
from bazaar.orders.ports import LockCensus
from bazaar.payments.adapters.dynamodb import open_put, settle_update
from bazaar.payments.domain import PaymentRecord
from bazaar.platform.outbox import outbox_item
from bazaar.platform.dynamo import (
    stored_time,
    count,
    Transaction,
    TransactionCancelled,
    from_item,
    query_page,
    to_item,
    to_value,
)

if TYPE_CHECKING:
    from bazaar.platform.idempotency import KeyClaim

HELD = "HELD"
OPEN = "OPEN"
_CUSTOMER_KEYS = ("pk", "sk", "customer_id", "order_id")



def _order_key(order_id: str) -> dict:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def _history_item(order_id: str, version: int, entry: HistoryEntry, retention: timedelta | None) -> dict:
    return to_item(
        {
            "pk": f"ORDER#{order_id}",
            # Numbered by the order's version, not by time: two functions' clocks may
            # disagree, the sequence of conditional writes cannot.
            "sk": f"HISTORY#{version:06d}",
            "at": stored_time(entry.at),
            "from_status": entry.from_status.value if entry.from_status else None,
            "to_status": entry.to_status.value,
            "reason": entry.reason,
            "expires_at": int((entry.at + retention).timestamp()) if retention else None,
        }
    )


def _event_item(event: OrderEvent) -> dict:
    """The order change's outbox item (bazaar.platform.outbox): keyed by the order and version."""
    return outbox_item(subject=f"ORDER#{event.order_id}", sequence=event.order_version, event_id=event.event_id,
                       event_type=event.event_type.value, occurred_at=event.occurred_at, body=event.to_json(),
                       order_id=event.order_id)


def _order_item(order: Order) -> dict:
    return to_item(
        {
            "pk": f"ORDER#{order.order_id}",
            "sk": "ORDER",
            "order_id": order.order_id,
            "customer_id": order.customer_id,
            "status": order.status.value,
            "lines": [
                {"product_id": l.product_id, "variant_id": l.variant_id, "sku": l.sku, "title": l.title,
                 "unit_price_paise": l.unit_price.amount, "quantity": l.quantity, "seller_id": l.seller_id or None,
                 "category": l.category or None}
                for l in order.lines
            ],
            "total_paise": order.total.amount,
            "shipping_address": vars(order.shipping_address),
            "created_at": stored_time(order.created_at),
            "updated_at": stored_time(order.updated_at),
            "lock_expires_at": stored_time(order.lock_expires_at),
            "lock_state": HELD if order.holds_locks else None,
            "version": order.version,
        }
    )


def _order(values: dict, history: tuple[HistoryEntry, ...] = (), refunds: tuple[RefundRecord, ...] = ()) -> Order:
    shipment = values.get("shipment")
    return Order(
        order_id=values["order_id"],
        customer_id=values["customer_id"],
        status=OrderStatus(values["status"]),
        lines=tuple(
            OrderLine(l["product_id"], l["variant_id"], l["sku"], l["title"], Paise(l["unit_price_paise"]),
                      l["quantity"], l.get("seller_id", ""), l.get("category", ""))
            for l in values["lines"]
        ),
        shipping_address=ShippingAddress(**values["shipping_address"]),
        created_at=datetime.fromisoformat(values["created_at"]),
        updated_at=datetime.fromisoformat(values["updated_at"]),
        lock_expires_at=datetime.fromisoformat(values["lock_expires_at"]),
        version=values.get("version", 1),
        history=history,
        shipment=ShipmentRecord(**shipment) if shipment else None,
        refunds=refunds,
        scan_keys=frozenset(values.get("scan_keys") or ()),
    )


def _refund(values: dict) -> RefundRecord:
    return RefundRecord(
        sequence=values["sequence"], merchant_refund_id=values["merchant_refund_id"],
        amount=Paise(values["amount_paise"]), state=RefundState(values["state"]), reason=values["reason"],
        requested_by=values["requested_by"], requested_at=datetime.fromisoformat(values["requested_at"]),
    )


def _entry(values: dict) -> HistoryEntry:
    return HistoryEntry(
        at=datetime.fromisoformat(values["at"]),
        from_status=OrderStatus(values["from_status"]) if values.get("from_status") else None,
        to_status=OrderStatus(values["to_status"]),
        reason=values["reason"],
    )


def _refund_key(order_id: str, sequence: int) -> dict:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"REFUND#{sequence:02d}"}}


def _refund_item(order_id: str, refund: RefundRecord) -> dict:
    return to_item({
        **{k: v["S"] for k, v in _refund_key(order_id, refund.sequence).items()},
        "order_id": order_id, "sequence": refund.sequence, "merchant_refund_id": refund.merchant_refund_id,
        "amount_paise": refund.amount.amount, "state": refund.state.value, "reason": refund.reason,
        "requested_by": refund.requested_by, "requested_at": stored_time(refund.requested_at),
        "refund_open": OPEN if refund.state.open else None,
    })


_NEW = "attribute_not_exists(pk)"  # the condition of an item written once, never over another


def order_book(settings, client, audit_table: str | None = None) -> DynamoDbOrderBook:
    """The order book as functions build it: its tables and the history retention."""
    return DynamoDbOrderBook(client, settings.table("orders"), settings.table("stock"), audit_table,
                             events_table=settings.table("order-events"),
                             history_retention=timedelta(days=settings.order_history_retention_days))


class DynamoDbOrderBook:
    def __init__(self, client, orders_table: str, stock_table: str, audit_table: str | None = None, *,
                 events_table: str, history_retention: timedelta | None = None):
        self._events = events_table
        self._retention = history_retention
        self._client = client
        self._audit = audit_table
        self._table = orders_table
        self._stock = StockWrites(stock_table)
        self._levels_table = stock_table

    # -- writes ---------------------------------------------------------------------------

    def place(self, order: Order, hold_cap: int, actor: str = "system", *,
              payment: PaymentRecord | None = None, key: KeyClaim | None = None) -> None:
        tx = Transaction()
        for line in order.lines:
            tx.add(f"stock:{line.variant_id}", self._stock.move(StockMove.LOCK, line.variant_id, line.quantity))
        tx.add("hold", self._stock.hold(order.customer_id, order.units, hold_cap))
        tx.put("order", self._table, _order_item(order), condition=_NEW)
        tx.put("history", self._table, _history_item(order.order_id, order.version, order.history[-1],
                                                     self._retention), condition=_NEW)
        tx.put("event", self._events, _event_item(order.placed_event(actor)), condition=_NEW)
        if payment is not None:
            tx.add("payment", open_put(self._table, payment))
        if key is not None:
            tx.add("key", key.transact_item())
        try:
            tx.run(self._client)
        except TransactionCancelled as cancelled:
            # The key first: a repeated request is answered from its record, whatever the stock
            # says now.
            if key is not None and cancelled.failed("key"):
                raise key.taken(cancelled.item("key")) from None
            if cancelled.failed_any("stock:"):
                short = [l.variant_id for l in order.lines if cancelled.failed(f"stock:{l.variant_id}")]
                raise OutOfStock(self._all_short(order, short)) from None
            if cancelled.failed("hold"):
                raise LockLimitReached(hold_cap) from None
            raise

    def _all_short(self, order: Order, known: list[str]) -> list[str]:
        # DynamoDB may report only some failed conditions; name every line that is short now.
        levels = DynamoDbStock(self._client, self._levels_table).levels([l.variant_id for l in order.lines])
        return sorted(set(known) | {
            l.variant_id for l in order.lines
            if l.variant_id not in levels or levels[l.variant_id].available < l.quantity
        })

    def apply(self, transition: Transition, amendment=None) -> Order:
        """`amendment` (bazaar.orders.aftersale.Amendment): what else is written in the same
        transaction; any of its conditions failing is reported as StaleOrder (read again),
        except the payment record's close: PaymentAlreadySettled."""
        order = transition.order
        names = {"#status": "status"}
        values = {":from": to_value(transition.from_status.value), ":to": to_value(transition.to_status.value),
                  ":at": to_value(stored_time(transition.at))}
        condition = "#status = :from AND version = :version"
        values[":version"] = to_value(order.version)
        values[":next"] = to_value(order.version + 1)
        if transition.only_if_lock_expired_by is not None:
            condition += " AND lock_expires_at <= :expired_by"
            values[":expired_by"] = to_value(stored_time(transition.only_if_lock_expired_by))
        update = "SET #status = :to, updated_at = :at, version = :next"
        removals = ["lock_state"] if transition.releases_hold else []
        if amendment is not None:
            update = self._amend_order(transition, amendment, update, names, values, removals)
        if removals:
            update += " REMOVE " + ", ".join(removals)
        tx = Transaction()
        tx.update("order", self._table, _order_key(order.order_id), update, condition=condition,
                  names=names, values=values)
        tx.put("history", self._table, _history_item(order.order_id, order.version + 1, transition.entry,
                                                     self._retention), condition=_NEW)
        if transition.stock_move is not None:
            for l in order.lines:
                tx.add(f"stock:{l.variant_id}", self._stock.move(transition.stock_move, l.variant_id, l.quantity))
        if amendment is not None:
            self._amend(tx, order, amendment)
        if transition.releases_hold:
            tx.add("unhold", self._stock.unhold(order.customer_id, order.units))
        event = transition.event
        if event is not None:
            tx.put("event", self._events, _event_item(event), condition=_NEW)
        try:
            tx.run(self._client)
        except TransactionCancelled as cancelled:
            if cancelled.failed("order"):
                raise StaleOrder(order.order_id) from None
            if cancelled.failed_any("stock:"):
                raise OutOfStock([l.variant_id for l in order.lines
                                  if cancelled.failed(f"stock:{l.variant_id}")]) from None
            if cancelled.failed("payment"):
                raise PaymentAlreadySettled(order.order_id) from None
            if any(cancelled.failed(name) for name in tx.names if name != "history"):
                raise StaleOrder(order.order_id) from None  # a refund or audit condition: read again
            raise
        applied = transition.applied()
        if amendment is not None:
            applied = amendment.applied_to(applied)
        return applied

    @staticmethod
    def _amend_order(transition: Transition, amendment, update: str, names: dict, values: dict,
                     removals: list[str]) -> str:
        """The amendment's part of the order item's own update."""
        if amendment.shipment is not None:
            values[":shipment"] = to_value(vars(amendment.shipment))
            update += ", shipment = :shipment"
        if amendment.needs_attention is True:
            values[":attention"] = to_value(transition.to_status.value)
            update += ", attention = :attention"
        elif amendment.needs_attention is False:
            removals.append("attention")
        if amendment.scan_key is not None:
            names["#scans"] = "scan_keys"
            values[":scan"] = to_value([amendment.scan_key])
            values[":none"] = to_value([])
            update += ", #scans = list_append(if_not_exists(#scans, :none), :scan)"
        return update

    def _amend(self, tx: Transaction, order: Order, amendment) -> None:
        """The amendment's items besides the order, added to the transition's transaction."""
        from bazaar.identity.adapters.dynamodb import audit_put

        if amendment.shipment is not None:
            tx.put("awb", self._table, to_item(
                {"pk": f"AWB#{amendment.shipment.awb}", "sk": "AWB", "order_id": order.order_id}))
        if amendment.new_refund is not None:
            tx.put("refund", self._table, _refund_item(order.order_id, amendment.new_refund), condition=_NEW)
        if amendment.refund_update is not None:
            before, state = amendment.refund_update
            tx.update("refund", self._table, _refund_key(order.order_id, before.sequence),
                      "SET #state = :state" + ("" if state.open else " REMOVE refund_open"),
                      condition="#state = :was", names={"#state": "state"},
                      values={":state": to_value(state.value), ":was": to_value(before.state.value)})
        if amendment.audit is not None:
            tx.add("audit", audit_put(self._audit_table(), amendment.audit))
        if amendment.settles_payment is not None:
            # Same table and partition as the order: closed in the transition's own transaction.
            tx.add("payment", settle_update(self._table, order.order_id, amendment.settles_payment))

    def _audit_table(self) -> str:
        if not self._audit:
            raise RuntimeError("this order book was built without the audit table")
        return self._audit

    def order_for_awb(self, awb: str) -> str | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": to_value(f"AWB#{awb}"), "sk": to_value("AWB")},
                                     ConsistentRead=True).get("Item")
        return from_item(item)["order_id"] if item else None

    def needing_attention(self, limit: int) -> list[Order]:
        return DynamoDbFailedShipments(self._client, self._table).oldest(limit)

    def open_refunds(self, limit: int) -> list[tuple[str, str]]:
        """(order id, merchant refund id) of refunds not settled yet, oldest first."""
        response = self._client.query(
            TableName=self._table, IndexName="by-open-refund", KeyConditionExpression="refund_open = :o",
            ExpressionAttributeValues={":o": to_value(OPEN)}, Limit=limit,
        )
        return [(i["order_id"], i["merchant_refund_id"]) for i in map(from_item, response.get("Items", []))]

    # -- reads ----------------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        items: list[dict] = []
        request = {"TableName": self._table, "KeyConditionExpression": "pk = :pk",
                   "ExpressionAttributeValues": {":pk": to_value(f"ORDER#{order_id}")}, "ConsistentRead": True}
        while True:
            response = self._client.query(**request)
            items += [from_item(i) for i in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        head = next((i for i in items if i["sk"] == "ORDER"), None)
        if head is None:
            return None
        history = tuple(_entry(i) for i in sorted((i for i in items if i["sk"].startswith("HISTORY#")),
                                                  key=lambda i: i["sk"]))
        refunds = tuple(_refund(i) for i in sorted((i for i in items if i["sk"].startswith("REFUND#")),
                                                   key=lambda i: i["sk"]))
        return _order(head, history, refunds)

    def for_customer(self, customer_id: str, limit: int, after: dict | None):
        items, position = query_page(
            self._client,
            key_attributes=_CUSTOMER_KEYS,
            limit=limit,
            start=after,
            TableName=self._table,
            IndexName="by-customer",
            KeyConditionExpression="customer_id = :c",
            ExpressionAttributeValues={":c": to_value(customer_id)},
            ScanIndexForward=False,
        )
        return [_order(i) for i in items], position

    @staticmethod
    def customer_key_attributes() -> tuple[str, ...]:
        return _CUSTOMER_KEYS

    def holding_expired_locks(self, now: datetime, limit: int) -> list[Order]:
        response = self._client.query(
            TableName=self._table,
            IndexName="by-lock-expiry",
            KeyConditionExpression="lock_state = :held AND lock_expires_at <= :now",
            ExpressionAttributeValues={":held": to_value(HELD), ":now": to_value(stored_time(now))},
            Limit=limit,
        )
        return [_order(from_item(i)) for i in response.get("Items", [])]

    def lock_census(self, now: datetime) -> LockCensus:
        return DynamoDbLockCensus(self._client, self._table).count(now)


class DynamoDbLockCensus:
    """Counts held locks on the sparse lock index; read by the cleanup and admin diagnostics."""

    def __init__(self, client, orders_table: str):
        self._client = client
        self._table = orders_table

    def _count(self, condition: str, now: datetime) -> int:
        return count(self._client, TableName=self._table, IndexName="by-lock-expiry",
                     KeyConditionExpression=f"lock_state = :held AND {condition}",
                     ExpressionAttributeValues={":held": to_value(HELD), ":now": to_value(stored_time(now))})

    def count(self, now: datetime) -> LockCensus:
        oldest = self._client.query(
            TableName=self._table, IndexName="by-lock-expiry", Limit=1,
            KeyConditionExpression="lock_state = :held AND lock_expires_at <= :now",
            ExpressionAttributeValues={":held": to_value(HELD), ":now": to_value(stored_time(now))},
        ).get("Items", [])
        return LockCensus(
            active=self._count("lock_expires_at > :now", now),
            expired_unreleased=self._count("lock_expires_at <= :now", now),
            oldest_expired_at=datetime.fromisoformat(from_item(oldest[0])["lock_expires_at"]) if oldest else None,
        )


class DynamoDbFailedShipments:
    """Orders in SHIPMENT_FAILED, oldest first, from the sparse `by-attention` index; read by
    admin diagnostics (which needs only the orders table)."""

    def __init__(self, client, orders_table: str):
        self._client = client
        self._table = orders_table

    def oldest(self, limit: int) -> list[Order]:
        response = self._client.query(
            TableName=self._table, IndexName="by-attention", KeyConditionExpression="attention = :a",
            ExpressionAttributeValues={":a": to_value(OrderStatus.SHIPMENT_FAILED.value)}, Limit=limit,
        )
        return [_order(from_item(i)) for i in response.get("Items", [])]

    def count(self) -> int:
        return count(self._client, TableName=self._table, IndexName="by-attention",
                     KeyConditionExpression="attention = :a",
                     ExpressionAttributeValues={":a": to_value(OrderStatus.SHIPMENT_FAILED.value)})


class DynamoDbOrdersInStatus:
    """Which orders sit in a status (the `by-status` index), for admin diagnostics."""

    def __init__(self, client, orders_table: str):
        self._client = client
        self._table = orders_table

    def find(self, status: OrderStatus, limit: int) -> tuple[int, list[str]]:
        """(how many, the ids of the oldest `limit` of them)."""
        total, ids = 0, list[str]()
        request = {"TableName": self._table, "IndexName": "by-status", "KeyConditionExpression": "#s = :s",
                   "ExpressionAttributeNames": {"#s": "status"},
                   "ExpressionAttributeValues": {":s": to_value(status.value)},
                   "ProjectionExpression": "order_id"}
        while True:
            response = self._client.query(**request)
            total += response.get("Count", 0)
            ids += [i["order_id"]["S"] for i in response.get("Items", [])][: max(0, limit - len(ids))]
            if not response.get("LastEvaluatedKey"):
                return total, ids
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def changed_since(self, status: OrderStatus, since: datetime) -> int:
        """How many orders are in `status` now and changed at or after `since`: the index's sort
        key is the order's `updated_at`, so the count reads only the orders in that window."""
        return count(self._client, TableName=self._table, IndexName="by-status",
                     KeyConditionExpression="#s = :s AND updated_at >= :since",
                     ExpressionAttributeNames={"#s": "status"},
                     ExpressionAttributeValues={":s": to_value(status.value), ":since": to_value(stored_time(since))})


def order_unchanged(orders_table: str, order_id: str, version: int) -> dict:
    """A ConditionCheck for another context's transaction that must only commit while the order
    is still at the version it was read at (payouts settle an order this way)."""
    return {"ConditionCheck": {"TableName": orders_table, "Key": _order_key(order_id),
                               "ConditionExpression": "#version = :version",
                               "ExpressionAttributeNames": {"#version": "version"},
                               "ExpressionAttributeValues": {":version": {"N": str(version)}}}}
