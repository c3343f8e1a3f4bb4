"""What a seller or scout is told when their money moves: one feed entry per payout or bounty
event. Pure Python: a payout event in, a notification out.

The notification's id is made from the event's id, so a redelivered event adds nothing."""

from __future__ import annotations

from collections.abc import Callable

from bazaar.notifications.domain import Notification, NotificationKind, announcing
from bazaar.notifications.order_updates import rupees
from bazaar.payouts.events import PayoutEvent, PayoutEventType

E = PayoutEventType
K = NotificationKind

_Message = Callable[[PayoutEvent], tuple[str, str]]

_MESSAGES: dict[PayoutEventType, tuple[NotificationKind, _Message]] = {
    E.PAYOUT_REQUESTED: (K.PAYOUT_REQUESTED, lambda e: (
        "Payout requested", f"A payout of {rupees(e.amount_paise)} is on its way to your account.")),
    E.PAYOUT_PROCESSED: (K.PAYOUT_SENT, lambda e: (
        "Payout sent", f"{rupees(e.amount_paise)} was paid to your account"
        + (f" (UTR {e.facts['utr']})." if e.facts.get("utr") else "."))),
    E.PAYOUT_FAILED: (K.PAYOUT_FAILED, lambda e: (
        "Payout failed", f"The payout of {rupees(e.amount_paise)} did not go through; the amount is back in "
        "your balance.")),
    E.PAYOUT_REVERSED: (K.PAYOUT_REVERSED, lambda e: (
        "Payout returned", f"Your bank returned the payout of {rupees(e.amount_paise)}; the amount is back in "
        "your balance. Check your payout account.")),
    E.BOUNTY_EARNED: (K.BOUNTY_EARNED, lambda e: (
        "Bounty earned", f"You earned {rupees(e.amount_paise)}: a shopper you recruited completed their first "
        "order.")),
}

# The event types the payout notifications consumer takes (the description routes exactly these).
NOTIFIED_PAYOUT_EVENTS = tuple(sorted(t.value for t in _MESSAGES))


def notification_for_payout(event: PayoutEvent) -> Notification:
    kind, text = _MESSAGES[event.event_type]
    title, body = text(event)
    return announcing(event.event_id, event.payee_id, kind, title, body, event.occurred_at,
                      facts={"amount_paise": event.amount_paise, "utr": str(event.facts.get("utr") or ""),
                             "reason": event.reason or ""})
