"""RazorpayX payout webhooks: who sent them (the signature) and what they say (a PayoutWebhook).

RazorpayX signs each delivery: `X-Razorpay-Signature` is hex(HMAC-SHA256(webhook secret, the raw
request body)) (docs/providers/razorpayx.md, 'Webhooks'). It is checked over the bytes as received,
never over re-serialised JSON, and compared in constant time. The secret is the webhook secret set
on the dashboard, not the API key secret.

Three outcomes for a verified body:
- `PayoutWebhook`: a payout event to queue (its `event_id` is the dedupe key downstream);
- `Ignored`: a genuine event we do not act on (payout links, payments, payout downtime notices).
  Answer 200: any other answer makes RazorpayX retry for a day and then disable the endpoint;
- `Rejected`: not a RazorpayX event at all, or a payout event without its payout (400).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from bazaar.payouts.provider import ProviderPayout, payout_from_entity

# The payout events that carry a payout entity. Other `payout.*` names (the downtime notices)
# carry something else and are ignored.
PAYOUT_EVENTS = frozenset({
    "payout.pending", "payout.rejected", "payout.queued", "payout.initiated", "payout.processed",
    "payout.updated", "payout.reversed", "payout.failed",
})
MAX_EVENT_ID_LENGTH = 64


@dataclass(frozen=True)
class Rejected:
    status: int  # 400: not an event, or a payout event without its payout
    reason: str  # safe to log: never a secret or the expected signature


@dataclass(frozen=True)
class Ignored:
    reason: str


class PayoutWebhook(BaseModel):
    """What the webhook receiver queues (model_dump_json) and the worker reads back
    (model_validate_json)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event: str  # e.g. "payout.processed"
    payout: ProviderPayout
    occurred_at: datetime
    payload_sha256: str


def payload_digest(body: bytes) -> str:
    """What we log instead of a body: enough to find the delivery on the dashboard, nothing more."""
    return hashlib.sha256(body).hexdigest()


def verify_signature(body: bytes, signature: str | None, secret: str) -> bool:
    if not signature or not secret:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.strip().lower().encode("utf-8"), expected.encode("ascii"))


def parse_payout_webhook(body: bytes, event_id_header: str | None) -> PayoutWebhook | Ignored | Rejected:
    """Reads a body whose signature was verified. `event_id_header` is `x-razorpay-event-id`."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Rejected(400, "body is not JSON")
    if not isinstance(envelope, dict) or envelope.get("entity") != "event":
        return Rejected(400, "not an event envelope")
    event = envelope.get("event")
    if not isinstance(event, str) or not event:
        return Rejected(400, "event envelope without an event name")
    if event not in PAYOUT_EVENTS:
        return Ignored(f"not a payout event we act on: {event[:64]}")
    payload = envelope.get("payload")
    holder = payload.get("payout") if isinstance(payload, dict) else None
    entity = holder.get("entity") if isinstance(holder, dict) else None
    if not isinstance(entity, dict):
        return Rejected(400, f"{event} without payload.payout.entity")
    try:
        payout = payout_from_entity(entity)
    except ValueError as error:
        return Rejected(400, f"{event}: {error}")
    created_at = _epoch_seconds(envelope.get("created_at"))
    if created_at is None:
        created_at = _epoch_seconds(entity.get("created_at"))
    if created_at is None:
        return Rejected(400, f"{event} without created_at")
    return PayoutWebhook(
        event_id=_event_id(event_id_header) or derived_event_id(payout.payout_id, event, payout.status, created_at),
        event=event,
        payout=payout,
        occurred_at=datetime.fromtimestamp(created_at, UTC),
        payload_sha256=payload_digest(body),
    )


def derived_event_id(payout_id: str, event: str, status: str, created_at: int) -> str:
    """A stable id for a delivery without `x-razorpay-event-id`: a redelivery of the same event
    gets the same id. The event name is part of it because `payout.initiated` and the
    `payout.updated` that brings the UTR share a status and can share a second."""
    digest = hashlib.sha256(f"{payout_id}|{event}|{status}|{created_at}".encode()).hexdigest()
    return f"derived_{digest[:32]}"


def _event_id(header: str | None) -> str | None:
    value = (header or "").strip()
    return value if value and len(value) <= MAX_EVENT_ID_LENGTH and value.isprintable() else None


def _epoch_seconds(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value
