"""What a shopper is told as their refund request moves: one feed entry per refund event. Pure
Python. The notification's id is made from the event's id, so a redelivered event adds nothing."""

from __future__ import annotations

from collections.abc import Callable

from bazaar.notifications.domain import Notification, NotificationKind, announcing
from bazaar.notifications.order_updates import rupees
from bazaar.refunds.events import RefundEvent, RefundEventType

E = RefundEventType
K = NotificationKind

_Message = Callable[[RefundEvent], tuple[str, str]]

_MESSAGES: dict[RefundEventType, tuple[NotificationKind, _Message]] = {
    E.REFUND_REQUEST_OPENED: (K.REFUND_REQUESTED, lambda e: (
        "Refund requested", f"We received your request to refund {rupees(e.amount_paise)} of order {e.order_id}"
        + (" and approved it." if e.facts.get("auto_approved") else "; we'll review it shortly."))),
    E.REFUND_APPROVED: (K.REFUND_APPROVED, lambda e: (
        "Refund approved", f"Your refund of {rupees(e.amount_paise)} for order {e.order_id} was approved.")),
    E.REFUND_REJECTED: (K.REFUND_REJECTED, lambda e: (
        "Refund not approved", f"Your refund request for order {e.order_id} was not approved: {e.reason}")),
    E.REFUND_EXPIRED: (K.REFUND_REJECTED, lambda e: (
        "Refund request expired", f"Your refund request for order {e.order_id} was not reviewed in time. "
        "Please ask again or contact us.")),
    E.REFUND_COMPLETED: (K.ORDER_REFUNDED, lambda e: (
        "Refund processed", f"{rupees(e.amount_paise)} of order {e.order_id} is on its way back to you.")),
    E.REFUND_FAILED: (K.REFUND_FAILED, lambda e: (
        "Refund delayed", f"We could not complete your refund of {rupees(e.amount_paise)} for order {e.order_id} "
        "yet; we are on it.")),
}

# The event types the refund notifications consumer takes (the description routes exactly these).
NOTIFIED_REFUND_EVENTS = tuple(sorted(t.value for t in _MESSAGES))


def notification_for_refund(event: RefundEvent) -> Notification:
    kind, text = _MESSAGES[event.event_type]
    title, body = text(event)
    return announcing(event.event_id, event.customer_id, kind, title, body, event.occurred_at,
                      facts={"order_id": event.order_id, "amount_paise": event.amount_paise, "reason": event.reason,
                             "expired": event.event_type is E.REFUND_EXPIRED})
