"""In-memory stand-ins for the refund ports, keeping the conditions of the DynamoDB adapter
(bazaar.refunds.adapters.dynamodb): one open request per order (the marker), and every change
conditional on the version it was made from. The workflow fake records executions by name (a
second start under one name starts nothing) and which task tokens still wait."""

from __future__ import annotations

from dataclasses import dataclass, field

from bazaar.identity.domain import AuditEntry
from bazaar.refunds.domain import RefundAlreadyOpen, RefundRequest, RefundStatus
from bazaar.refunds.events import RefundEvent
from bazaar.refunds.ports import StaleRefund


@dataclass
class FakeRefundBook:
    requests: dict[str, RefundRequest] = field(default_factory=dict)
    open_markers: dict[str, str] = field(default_factory=dict)  # order -> refund
    tokens: dict[str, str] = field(default_factory=dict)
    outbox: list[RefundEvent] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)

    def add(self, request: RefundRequest, event: RefundEvent) -> None:
        if request.order_id in self.open_markers:
            raise RefundAlreadyOpen()
        self.open_markers[request.order_id] = request.refund_id
        self.requests[request.refund_id] = request
        self.outbox.append(event)

    def get(self, refund_id: str) -> RefundRequest | None:
        return self.requests.get(refund_id)

    def of_order(self, order_id: str) -> list[RefundRequest]:
        return [r for r in self.requests.values() if r.order_id == order_id]

    def apply(self, before: RefundRequest, after: RefundRequest, event: RefundEvent | None,
              audit: AuditEntry | None = None, task_token: str | None = None) -> RefundRequest:
        current = self.requests.get(after.refund_id)
        if current is None or current.version != before.version:
            raise StaleRefund()
        self.requests[after.refund_id] = after
        if before.is_open and not after.is_open:
            self.open_markers.pop(after.order_id, None)
        if task_token is not None:
            self.tokens[after.refund_id] = task_token
        if event is not None:
            self.outbox.append(event)
        if audit is not None:
            self.audit.append(audit)
        return after

    def task_token(self, refund_id: str) -> str | None:
        return self.tokens.get(refund_id)

    def waiting(self, status: RefundStatus, limit: int, position):
        found = sorted((r for r in self.requests.values() if r.status is status), key=lambda r: r.created_at)
        return found[:limit], None

    def count(self, status: RefundStatus) -> int:
        return sum(1 for r in self.requests.values() if r.status is status)


class FakeWorkflow:
    def __init__(self) -> None:
        self.executions: dict[str, str] = {}  # name -> refund id
        self.waiting: set[str] = set()  # task tokens not answered yet
        self.answers: list[tuple[str, str]] = []  # (token, "approved" | "rejected")

    def start(self, execution: str, refund_id: str) -> bool:
        if execution in self.executions:
            return False
        self.executions[execution] = refund_id
        return True

    def approve(self, task_token: str, by: str) -> bool:
        return self._answer(task_token, "approved")

    def reject(self, task_token: str, by: str, reason: str) -> bool:
        return self._answer(task_token, "rejected")

    def _answer(self, token: str, answer: str) -> bool:
        if token not in self.waiting:
            return False
        self.waiting.discard(token)
        self.answers.append((token, answer))
        return True
