"""Refund requests in the `refunds` table, through the low-level client and one Transaction idiom.

- `REFUND#<id>` / `REFUND`: a request; `order_id` + `created_at` (`by-order`), and `status` +
  `created_at` (`by-status`: the admin's queue, oldest first, and the diagnostics' counts).
  `task_token` is the token of the workflow task waiting for an admin's decision.
- `ORDER#<order>` / `OPEN_REFUND`: the order's one open request, written with it (condition:
  none exists) and deleted when it closes, so two requests racing for one order make one.
Events go to the outbox (`order-events`) in the change's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bazaar.identity.adapters.dynamodb import audit_put
from bazaar.identity.domain import AuditEntry
from bazaar.money import Paise
from bazaar.platform.dynamo import (
    read_time, stored_time,
    Transaction, TransactionCancelled, batch_get, count, count_and_first, from_item, query_page, rewrite, to_item, to_value,
    valid_position,
)
from bazaar.platform.outbox import outbox_item
from bazaar.platform.pagination import InvalidCursor
from bazaar.refunds.domain import HistoryEntry, RefundAlreadyOpen, RefundReason, RefundRequest, RefundStatus
from bazaar.refunds.events import RefundEvent
from bazaar.refunds.ports import StaleRefund

_NEW = "attribute_not_exists(pk)"
_STATUS_PAGE = ("pk", "sk", "status", "created_at")




def _key(refund_id: str) -> dict:
    return {"pk": {"S": f"REFUND#{refund_id}"}, "sk": {"S": "REFUND"}}


def _marker_key(order_id: str) -> dict:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "OPEN_REFUND"}}


def _item(request: RefundRequest) -> dict:
    return to_item(_values(request))


def _values(request: RefundRequest) -> dict[str, Any]:
    return {
        "pk": f"REFUND#{request.refund_id}", "sk": "REFUND", "refund_id": request.refund_id,
        "order_id": request.order_id, "customer_id": request.customer_id, "amount_paise": request.amount.amount,
        "reason": request.reason.value, "note": request.note, "status": request.status.value,
        "requested_by": request.requested_by, "created_at": stored_time(request.created_at),
        "updated_at": stored_time(request.updated_at), "version": request.version,
        "auto_approved": request.auto_approved, "decided_by": request.decided_by,
        "decision_reason": request.decision_reason, "merchant_refund_id": request.merchant_refund_id,
        "provider_refund_id": request.provider_refund_id, "failure_reason": request.failure_reason,
        "processed_at": stored_time(request.processed_at) if request.processed_at else None,
        "execution": request.execution,
        "history": [{"at": stored_time(h.at), "status": h.status.value, "by": h.by, "note": h.note}
                    for h in request.history],
    }


def _request(v: dict) -> RefundRequest:
    return RefundRequest(
        refund_id=v["refund_id"], order_id=v["order_id"], customer_id=v["customer_id"],
        amount=Paise(v["amount_paise"]), reason=RefundReason(v["reason"]), note=v.get("note", ""),
        status=RefundStatus(v["status"]), requested_by=v["requested_by"],
        created_at=datetime.fromisoformat(v["created_at"]), updated_at=datetime.fromisoformat(v["updated_at"]),
        version=v["version"], auto_approved=bool(v.get("auto_approved")), decided_by=v.get("decided_by"),
        decision_reason=v.get("decision_reason"), merchant_refund_id=v.get("merchant_refund_id"),
        provider_refund_id=v.get("provider_refund_id"), failure_reason=v.get("failure_reason"),
        processed_at=read_time(v.get("processed_at")), execution=v.get("execution"),
        history=tuple(HistoryEntry(datetime.fromisoformat(h["at"]), RefundStatus(h["status"]), h["by"], h["note"])
                      for h in v.get("history") or ()),
    )


def _event_item(event: RefundEvent) -> dict:
    return outbox_item(subject=f"REFUND#{event.refund_id}", sequence=event.version, event_id=event.event_id,
                       event_type=event.event_type.value, occurred_at=event.occurred_at, body=event.to_json(),
                       order_id=event.order_id)


class DynamoDbRefundBook:
    def __init__(self, client, refunds_table: str, events_table: str | None, audit_table: str | None = None):
        """`events_table` None: a reader only (diagnostics), which writes no request."""
        self._client = client
        self._table = refunds_table
        self._events = events_table
        self._audit = audit_table

    def _outbox(self) -> str:
        if self._events is None:
            raise RuntimeError("this function only reads refund requests (it declares no outbox table)")
        return self._events

    def add(self, request: RefundRequest, event: RefundEvent) -> None:
        tx = Transaction()
        tx.put("marker", self._table, to_item({"pk": f"ORDER#{request.order_id}", "sk": "OPEN_REFUND",
                                               "refund_id": request.refund_id}), condition=_NEW)
        tx.put("request", self._table, _item(request), condition=_NEW)
        tx.put("event", self._outbox(), _event_item(event), condition=_NEW)
        try:
            tx.run(self._client)
        except TransactionCancelled as cancelled:
            if cancelled.failed("marker"):
                raise RefundAlreadyOpen() from None
            raise

    def get(self, refund_id: str) -> RefundRequest | None:
        item = self._client.get_item(TableName=self._table, Key=_key(refund_id), ConsistentRead=True).get("Item")
        return _request(from_item(item)) if item else None

    def task_token(self, refund_id: str) -> str | None:
        item = self._client.get_item(TableName=self._table, Key=_key(refund_id), ConsistentRead=True,
                                     ProjectionExpression="task_token").get("Item")
        return from_item(item).get("task_token") if item else None

    def of_order(self, order_id: str) -> list[RefundRequest]:
        answer = self._client.query(TableName=self._table, IndexName="by-order",
                                    KeyConditionExpression="order_id = :order",
                                    ExpressionAttributeValues={":order": to_value(order_id)})
        # The index is eventually consistent: read the requests themselves, in one consistent batch.
        keys = [_key(from_item(i)["refund_id"]) for i in answer.get("Items", [])]
        return sorted((_request(v) for v in batch_get(self._client, self._table, keys)),
                      key=lambda r: (r.created_at, r.refund_id))

    def apply(self, before: RefundRequest, after: RefundRequest, event: RefundEvent | None,
              audit: AuditEntry | None = None, task_token: str | None = None) -> RefundRequest:
        values = _values(after)
        if task_token is not None:
            values["task_token"] = task_token
        # An update, not a put: the workflow's task token, written by another step, stays.
        expression, names, placeholders = rewrite(values, key=("pk", "sk"))
        tx = Transaction()
        tx.update("request", self._table, _key(after.refund_id), expression, condition="#version = :version",
                  names={**names, "#version": "version"},
                  values={**placeholders, ":version": to_value(before.version)})
        if before.is_open and not after.is_open:
            tx.delete("marker", self._table, _marker_key(after.order_id))
        if event is not None:
            tx.put("event", self._outbox(), _event_item(event), condition=_NEW)
        if audit is not None:
            if self._audit is None:
                raise RuntimeError("this function writes no audit entries (it declares no audit table)")
            tx.add("audit", audit_put(self._audit, audit))
        try:
            tx.run(self._client)
        except TransactionCancelled:
            raise StaleRefund() from None
        return after

    def waiting(self, status: RefundStatus, limit: int, position: dict[str, Any] | None
                ) -> tuple[list[RefundRequest], dict[str, Any] | None]:
        if not valid_position(position, _STATUS_PAGE):
            raise InvalidCursor()
        page, after = query_page(self._client, key_attributes=_STATUS_PAGE, limit=limit, start=position,
                                 TableName=self._table, IndexName="by-status",
                                 KeyConditionExpression="#status = :status",
                                 ExpressionAttributeNames={"#status": "status"},
                                 ExpressionAttributeValues={":status": to_value(status.value)})
        return [_request(v) for v in page], after

    def count(self, status: RefundStatus) -> int:
        return count(self._client, **self._in_status(status))

    def backlog(self, status: RefundStatus) -> tuple[int, datetime | None]:
        """(how many requests are in `status`, when the oldest of them was made)."""
        total, oldest = count_and_first(self._client, "created_at", **self._in_status(status))
        return total, read_time(oldest)

    def _in_status(self, status: RefundStatus) -> dict[str, Any]:
        return {"TableName": self._table, "IndexName": "by-status", "KeyConditionExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":status": to_value(status.value)}}
