"""What happened to a refund request, as facts other parts of Bazaar react to: the shopper's feed,
and the workflow starter (a request opened, or a failed one sent again, starts an execution).
Pure Python. Written to the outbox (bazaar.platform.outbox) in the change's own transaction; the
event id is the request and the version the change created, so it is acted on once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


class RefundEventType(StrEnum):
    REFUND_REQUEST_OPENED = "RefundRequestOpened"
    REFUND_APPROVED = "RefundApproved"
    REFUND_REJECTED = "RefundRejected"
    REFUND_EXPIRED = "RefundExpired"
    REFUND_COMPLETED = "RefundCompleted"
    REFUND_FAILED = "RefundFailed"


@dataclass(frozen=True)
class RefundEvent:
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

    def to_json(self) -> str:
        return json.dumps({
            "event_id": self.event_id, "event_type": self.event_type.value, "schema_version": self.schema_version,
            "refund_id": self.refund_id, "order_id": self.order_id, "customer_id": self.customer_id,
            "amount_paise": self.amount_paise, "currency": "INR", "status": self.status,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"), "version": self.version,
            "reason": self.reason, "facts": self.facts,
        }, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> RefundEvent:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a refund event is a JSON object")
        return cls(
            event_id=str(data["event_id"]), event_type=RefundEventType(data["event_type"]),
            refund_id=str(data["refund_id"]), order_id=str(data["order_id"]), customer_id=str(data["customer_id"]),
            amount_paise=int(data["amount_paise"]), status=str(data["status"]),
            occurred_at=datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00")),
            version=int(data["version"]), reason=str(data.get("reason", "")), facts=dict(data.get("facts") or {}),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )


def refund_event_id(refund_id: str, version: int) -> str:
    return f"evt_{refund_id}_{version:06d}"
