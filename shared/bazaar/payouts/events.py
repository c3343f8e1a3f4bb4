"""What happened to a payee's money, as facts other parts of Bazaar react to (the payee's feed).
Pure Python.

Written to the outbox in the same transaction as the change, like an order's events
(docs/order-events.md): a payout's event id is made from the payout and the version the change
created, a bounty's from the recruit it was earned for, so a retried write or a redelivery
carries the same id and consumers act once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


class PayoutEventType(StrEnum):
    PAYOUT_REQUESTED = "PayoutRequested"
    PAYOUT_PROCESSED = "PayoutProcessed"
    PAYOUT_FAILED = "PayoutFailed"
    PAYOUT_REVERSED = "PayoutReversed"
    BOUNTY_EARNED = "BountyEarned"


@dataclass(frozen=True)
class PayoutEvent:
    event_id: str
    event_type: PayoutEventType
    payee_id: str  # the user paid (or to be paid)
    payee_role: str  # seller | scout
    amount_paise: int
    occurred_at: datetime
    subject_id: str  # the payout (pay_...) or, for a bounty, its posting (bounty:<recruit>)
    sequence: int  # the subject's version this change created (1 for a bounty)
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps({
            "event_id": self.event_id, "event_type": self.event_type.value, "schema_version": self.schema_version,
            "payee_id": self.payee_id, "payee_role": self.payee_role, "amount_paise": self.amount_paise,
            "currency": "INR", "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "subject_id": self.subject_id, "sequence": self.sequence, "reason": self.reason, "facts": self.facts,
        }, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> PayoutEvent:
        """Raises ValueError (or KeyError/TypeError) on a payload that is not a payout event."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a payout event is a JSON object")
        return cls(
            event_id=str(data["event_id"]), event_type=PayoutEventType(data["event_type"]),
            payee_id=str(data["payee_id"]), payee_role=str(data["payee_role"]),
            amount_paise=int(data["amount_paise"]),
            occurred_at=datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00")),
            subject_id=str(data["subject_id"]), sequence=int(data["sequence"]), reason=str(data.get("reason", "")),
            facts=dict(data.get("facts") or {}), schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )


def payout_event_id(payout_id: str, version: int) -> str:
    return f"evt_{payout_id}_{version:06d}"


def bounty_event_id(recruit_id: str) -> str:
    return f"evt_bounty_{recruit_id}"
