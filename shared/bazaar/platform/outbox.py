"""The outbox item every context writes its events as: in the change's own transaction, to the
outbox table whose stream the event dispatcher relays (docs/order-events.md).

Its key is the subject (an order, a payout) and the subject's version the change created, so
the same change can never be written, or emitted, twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from bazaar.platform.dynamo import to_item

# The stream delivers an event within seconds; the item is kept a week for operators, then
# DynamoDB's TTL clears it.
OUTBOX_RETENTION = timedelta(days=7)


def outbox_item(*, subject: str, sequence: int, event_id: str, event_type: str, occurred_at: datetime, body: str,
                retention: timedelta = OUTBOX_RETENTION, **attributes: str) -> dict:
    return to_item({
        "pk": subject,
        "sk": f"EVENT#{sequence:06d}",
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": occurred_at.isoformat(timespec="milliseconds"),
        "body": body,
        "expires_at": int((occurred_at + retention).timestamp()),
        **attributes,
    })
