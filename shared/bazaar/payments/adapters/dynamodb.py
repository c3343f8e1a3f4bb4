"""Each order's payment record lives in the `orders` table, in the order's own partition:
`ORDER#<id>` / `PAYMENT`. While PhonePe has not settled it, the item carries `check_state = OPEN`
and `next_check_at`, so the sparse `by-payment-check` index is exactly the set of payments
reconciliation must ask about, earliest check first. Settling removes `check_state`.

The item has no `status`, `customer_id` or `lock_state`, so it never appears in the orders'
other indexes; OrderBook.get ignores it (it reads `ORDER` and `HISTORY#` items only).

Because it shares the order's partition and table, the order book writes it inside its own
transactions: checkout opens it with the order (`open_put`), and a payment's move to PAID closes
it with the transition (`settle_update`). The methods below are the same writes, alone."""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from bazaar.payments.domain import CheckState, PaymentRecord
from bazaar.payments.ports import PaymentCensus
from bazaar.platform.dynamo import stored_time, error_code, from_item, to_item, to_value

OPEN = CheckState.OPEN.value
INDEX = "by-payment-check"



def _key(order_id: str) -> dict:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "PAYMENT"}}


def _record(values: dict) -> PaymentRecord:
    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(values[name]) if values.get(name) else None

    return PaymentRecord(
        order_id=values["order_id"], provider=values["provider"], api_version=values["api_version"],
        merchant_order_id=values["merchant_order_id"], amount_paise=values["amount_paise"],
        started_at=datetime.fromisoformat(values["started_at"]),  # every record has one
        next_check_at=moment("next_check_at") if values.get("check_state") == OPEN else None,
        state=CheckState(values["payment_state"]), checks=values.get("checks", 0),
        note=values.get("note"),
    )


def _conditional(call) -> bool:
    try:
        call()
        return True
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            return False
        raise


def open_put(table: str, record: PaymentRecord) -> dict:
    """The transact item that writes a new payment record (never over an existing one)."""
    item = to_item({
        "pk": f"ORDER#{record.order_id}", "sk": "PAYMENT", "order_id": record.order_id,
        "provider": record.provider, "api_version": record.api_version,
        "merchant_order_id": record.merchant_order_id, "amount_paise": record.amount_paise,
        "started_at": stored_time(record.started_at), "payment_state": record.state.value,
        "check_state": OPEN if record.open else None,
        "next_check_at": stored_time(record.next_check_at) if record.next_check_at else None,
        "checks": record.checks,
    })
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def settle_update(table: str, order_id: str, state: CheckState, note: str | None = None) -> dict:
    """The transact item that closes a payment record in `state` (it leaves reconciliation). Its
    condition fails if the record is missing or already closed in that state: somebody else
    settled it first."""
    values = {":state": to_value(state.value), ":open": to_value(OPEN), ":one": to_value(1)}
    update = "SET payment_state = :state ADD checks :one REMOVE check_state, next_check_at"
    if note:
        update = "SET payment_state = :state, note = :note ADD checks :one REMOVE check_state, next_check_at"
        values[":note"] = to_value(note[:500])
    return {"Update": {
        "TableName": table, "Key": _key(order_id), "UpdateExpression": update,
        # Open, or closed in another state: a payment we gave up on (EXPIRED) that PhonePe
        # completes later is settled again, once, as COMPLETED.
        "ConditionExpression": "attribute_exists(pk) AND (check_state = :open OR payment_state <> :state)",
        "ExpressionAttributeValues": values,
    }}


class DynamoDbPaymentRecords:
    def __init__(self, client, orders_table: str):
        self._client = client
        self._table = orders_table

    def open(self, record: PaymentRecord) -> PaymentRecord:
        if _conditional(lambda: self._client.put_item(**open_put(self._table, record)["Put"])):
            return record
        existing = self.get(record.order_id)  # opened before (a retried checkout): that one stands
        if existing is None:
            raise RuntimeError(f"the payment record of {record.order_id} was refused but is not there")
        return existing

    def get(self, order_id: str) -> PaymentRecord | None:
        item = self._client.get_item(TableName=self._table, Key=_key(order_id), ConsistentRead=True).get("Item")
        return _record(from_item(item)) if item else None

    def reschedule(self, record: PaymentRecord, next_check_at: datetime) -> None:
        _conditional(lambda: self._client.update_item(
            TableName=self._table, Key=_key(record.order_id),
            UpdateExpression="SET next_check_at = :next ADD checks :one",
            ConditionExpression="check_state = :open",
            ExpressionAttributeValues={":next": to_value(stored_time(next_check_at)), ":one": to_value(1),
                                       ":open": to_value(OPEN)},
        ))

    def settle(self, record: PaymentRecord, state: CheckState, note: str | None = None) -> bool:
        return _conditional(lambda: self._client.update_item(
            **settle_update(self._table, record.order_id, state, note)["Update"]))

    def due(self, now: datetime, limit: int) -> list[PaymentRecord]:
        response = self._client.query(
            TableName=self._table, IndexName=INDEX, Limit=limit,
            KeyConditionExpression="check_state = :open AND next_check_at <= :now",
            ExpressionAttributeValues={":open": to_value(OPEN), ":now": to_value(stored_time(now))},
        )
        return [_record(from_item(i)) for i in response.get("Items", [])]

    def census(self, now: datetime, limit: int) -> PaymentCensus:
        total = overdue = 0
        ids: list[str] = []
        request = {"TableName": self._table, "IndexName": INDEX, "KeyConditionExpression": "check_state = :open",
                   "ExpressionAttributeValues": {":open": to_value(OPEN)},
                   "ProjectionExpression": "order_id, next_check_at"}
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                total += 1
                overdue += item["next_check_at"]["S"] <= stored_time(now)
                if len(ids) < limit:
                    ids.append(item["order_id"]["S"])
            if not response.get("LastEvaluatedKey"):
                return PaymentCensus(total, overdue, tuple(ids))
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
