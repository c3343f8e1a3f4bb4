"""What the refund use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bazaar.identity.domain import AuditEntry
from bazaar.refunds.domain import RefundRequest, RefundStatus
from bazaar.refunds.events import RefundEvent


class StaleRefund(Exception):
    """The request changed since it was read; nothing was written."""


class RefundBook(Protocol):
    def add(self, request: RefundRequest, event: RefundEvent) -> None:
        """The request and its event, with the order's one-open-request marker, in one
        transaction; RefundAlreadyOpen if the order has an open request."""

    def get(self, refund_id: str) -> RefundRequest | None: ...

    def of_order(self, order_id: str) -> list[RefundRequest]: ...

    def apply(self, before: RefundRequest, after: RefundRequest, event: RefundEvent | None,
              audit: AuditEntry | None = None, task_token: str | None = None) -> RefundRequest:
        """Writes `after` conditional on `before`'s version (StaleRefund otherwise), with its event
        and audit entry; a request leaving the open statuses lifts the order's marker."""

    def task_token(self, refund_id: str) -> str | None:
        """The token of the workflow task waiting for an admin's decision, if one waits."""

    def waiting(self, status: RefundStatus, limit: int, position: dict[str, Any] | None
                ) -> tuple[list[RefundRequest], dict[str, Any] | None]:
        """Requests in a status, oldest first."""

    def count(self, status: RefundStatus) -> int: ...


class Workflow(Protocol):
    """The refund-approval state machine."""

    def start(self, execution: str, refund_id: str) -> bool:
        """Starts an execution under this name; False if one by that name exists (a redelivery)."""

    def approve(self, task_token: str, by: str) -> bool:
        """Resumes the waiting task; False if it no longer waits (timed out, already answered)."""

    def reject(self, task_token: str, by: str, reason: str) -> bool: ...


ReverseEarnings = Callable[[str], int]  # order id -> reversal postings made (bazaar.payouts)
