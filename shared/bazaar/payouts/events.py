"""What happened to a payee's money, as facts other parts of Bazaar react to (the payee's feed).
Pure Python.

Written to the outbox in the same transaction as the change, like an order's events
(docs/order-events.md): a payout's event id is made from the payout and the version the change
created, a bounty's from the recruit it was earned for, so a retried write or a redelivery
carries the same id and consumers act once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from bazaar.platform.events import DomainEvent

SCHEMA_VERSION = 1


class PayoutEventType(StrEnum):
    PAYOUT_REQUESTED = "PayoutRequested"
    PAYOUT_PROCESSED = "PayoutProcessed"
    PAYOUT_FAILED = "PayoutFailed"
    PAYOUT_REVERSED = "PayoutReversed"
    BOUNTY_EARNED = "BountyEarned"


@dataclass(frozen=True)
class PayoutEvent(DomainEvent):
    described_as: ClassVar[str] = "a payout event"
    identifiers: ClassVar[frozenset[str]] = frozenset({"event_id", "payee_id", "payee_role", "subject_id"})

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


def payout_event_id(payout_id: str, version: int) -> str:
    return f"evt_{payout_id}_{version:06d}"


def bounty_event_id(recruit_id: str) -> str:
    return f"evt_bounty_{recruit_id}"
