"""What happened to a refund request, as facts other parts of Bazaar react to: the shopper's feed,
and the workflow starter (a request opened, or a failed one sent again, starts an execution).
Pure Python. Written to the outbox (bazaar.platform.outbox) in the change's own transaction; the
event id is the request and the version the change created, so it is acted on once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from bazaar.platform.events import DomainEvent

SCHEMA_VERSION = 1


class RefundEventType(StrEnum):
    REFUND_REQUEST_OPENED = "RefundRequestOpened"
    REFUND_APPROVED = "RefundApproved"
    REFUND_REJECTED = "RefundRejected"
    REFUND_EXPIRED = "RefundExpired"
    REFUND_COMPLETED = "RefundCompleted"
    REFUND_FAILED = "RefundFailed"


@dataclass(frozen=True)
class RefundEvent(DomainEvent):
    described_as: ClassVar[str] = "a refund event"
    identifiers: ClassVar[frozenset[str]] = frozenset({"event_id", "refund_id", "order_id", "customer_id", "status"})

    event_id: str
    event_type: RefundEventType
    refund_id: str
    order_id: str
    customer_id: str
    amount_paise: int
    status: str
    occurred_at: datetime
    version: int
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


def refund_event_id(refund_id: str, version: int) -> str:
    return f"evt_{refund_id}_{version:06d}"
