"""Use cases of refunds: a shopper's request and an admin's, the admin's decision, and the steps
the refund-approval workflow runs (infra/description/contexts/refunds.py defines it):

    validate -> auto-approved? -> wait for an admin (task token; the timeout expires it)
             -> PhonePe refund (retried on throttling and 5xx, one merchant refund id)
             -> wait for completion (PhonePe's webhook or status polls) -> complete
             -> (any failure) record why; an admin may retry

Every status change is conditional on the version read, so an approval racing a rejection or
the timeout has one outcome, and a step Step Functions runs twice does its work once."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from bazaar.identity.domain import AuditAction, AuditEntry
from bazaar.money import Paise
from bazaar.orders import fulfilment
from bazaar.orders.aftersale import Admin as OrderAdmin
from bazaar.orders.aftersale import committed, merchant_refund_id
from bazaar.orders.domain import Order, OrderNotFound, RefundState
from bazaar.orders.events import OrderEvent, OrderEventType
from bazaar.orders.ports import OrderBook
from bazaar.orders.wiring import Aftersale
from bazaar.payments.domain import PaymentProviderRejected
from bazaar.platform.clock import Clock
from bazaar.platform.errors import Conflict, DependencyUnavailable
from bazaar.platform.observability import logger
from bazaar.refunds.domain import (
    TRANSITIONS,
    HistoryEntry,
    RefundNotFound,
    RefundPolicy,
    RefundReason,
    RefundRequest,
    RefundStatus,
    RefundTransitionRefused,
    delivered_at,
)
from bazaar.refunds.events import RefundEvent, RefundEventType, refund_event_id
from bazaar.refunds.ports import RefundBook, ReverseEarnings, StaleRefund, Workflow

R = RefundStatus
E = RefundEventType

EMITS: dict[RefundStatus, RefundEventType] = {
    R.APPROVED: E.REFUND_APPROVED,
    R.REJECTED: E.REFUND_REJECTED,
    R.EXPIRED: E.REFUND_EXPIRED,
    R.COMPLETED: E.REFUND_COMPLETED,
    R.FAILED: E.REFUND_FAILED,
}


@dataclass(frozen=True)
class Refunds:
    """What the refund use cases need (bazaar.refunds.wiring builds it)."""

    book: RefundBook
    orders: OrderBook
    # PhonePe and the audited order book: only the workflow's steps send refunds.
    aftersale: Aftersale | None
    workflow: Workflow
    reverse_earnings: ReverseEarnings
    policy: RefundPolicy
    approval_timeout_seconds: int  # how long the workflow waits for an admin
    clock: Clock
    new_id: Callable[[str], str]


@dataclass(frozen=True)
class Admin:
    actor_id: str
    request_id: str
    reason: str


def _event(request: RefundRequest, kind: RefundEventType, reason: str = "", **facts) -> RefundEvent:
    return RefundEvent(refund_event_id(request.refund_id, request.version), kind, request.refund_id,
                       request.order_id, request.customer_id, request.amount.amount, request.status.value,
                       request.updated_at, request.version, reason=reason,
                       facts={"auto_approved": request.auto_approved, **facts})


def _order(order_id: str, kit: Refunds) -> Order:
    order = kit.orders.get(order_id)
    if order is None:
        raise OrderNotFound()
    return order


def _request(refund_id: str, kit: Refunds) -> RefundRequest:
    request = kit.book.get(refund_id)
    if request is None:
        raise RefundNotFound()
    return request


# -- asking ------------------------------------------------------------------------------------


def request_refund(order_id: str, amount: Paise | None, reason: RefundReason, note: str, *, caller: str,
                   is_admin: bool, kit: Refunds) -> RefundRequest:
    """A refund request for the order (its owner's, or an admin's for any order). The policy
    decides whether it may be asked and whether an admin must approve it; an admin's request is
    approved by asking. The workflow starts from its event."""
    order = _order(order_id, kit)
    if not order.visible_to(caller, is_admin):
        raise OrderNotFound()  # somebody else's order reads as a missing one
    now = kit.clock()
    wanted = amount if amount is not None else order.total - committed(order)
    open_requests = [r for r in kit.book.of_order(order_id) if r.is_open]
    on_the_order = {r.merchant_refund_id for r in order.refunds}
    awaiting = sum((r.amount for r in open_requests if r.merchant_refund_id not in on_the_order), Paise.zero())
    delivered = delivered_at(order)
    kit.policy.check(order, wanted, len(open_requests), now, delivered, awaiting)
    auto = is_admin or kit.policy.auto_approves(order, wanted, delivered)
    who = f"{'admin' if is_admin else 'customer'}:{caller}"
    refund_id = kit.new_id("rfd")
    request = RefundRequest(
        refund_id=refund_id, order_id=order_id, customer_id=order.customer_id, amount=wanted,
        reason=reason, note=note, status=R.APPROVED if auto else R.REQUESTED, requested_by=who,
        created_at=now, updated_at=now, auto_approved=auto and not is_admin,
        decided_by=(who if is_admin else "policy") if auto else None,
        decision_reason=(note if is_admin else "within the automatic approval rules") if auto else None,
        history=(HistoryEntry(now, R.APPROVED if auto else R.REQUESTED, who, note or reason.value),),
        execution=execution_name(refund_id, 1),
    )
    kit.book.add(request, _event(request, E.REFUND_REQUEST_OPENED))
    logger.info("refund requested", extra={"refund_id": request.refund_id, "order_id": order_id,
                                           "amount_paise": wanted.amount, "auto_approved": auto})
    return request


def refunds_of(order_id: str, caller: str, is_admin: bool, kit: Refunds) -> list[RefundRequest]:
    order = _order(order_id, kit)
    if not order.visible_to(caller, is_admin):
        raise OrderNotFound()
    return sorted(kit.book.of_order(order_id), key=lambda r: r.created_at)


def execution_name(refund_id: str, version: int) -> str:
    """The workflow execution of a request's version: where an admin finds it in the console."""
    return f"{refund_id}-v{version}"


def start_workflow(event: RefundEvent, workflow: Workflow) -> bool:
    """The starter's job: a request opened (or a failed one an admin sent again) gets its
    execution, named by the request and the version, so a redelivered event starts nothing."""
    if event.event_type is E.REFUND_REQUEST_OPENED or (event.event_type is E.REFUND_APPROVED
                                                        and event.facts.get("retry")):
        return workflow.start(execution_name(event.refund_id, event.version), event.refund_id)
    return False


# -- an admin's decision ---------------------------------------------------------------------


def _audit(admin: Admin, action: AuditAction, request: RefundRequest, after: RefundStatus, kit: Refunds) -> AuditEntry:
    return AuditEntry(audit_id=kit.new_id("aud"), at=kit.clock(), actor_id=admin.actor_id, action=action,
                      target_id=request.order_id, before={"refund_id": request.refund_id, "status": request.status.value},
                      after={"refund_id": request.refund_id, "status": after.value}, request_id=admin.request_id,
                      reason=admin.reason)


def decide(refund_id: str, approve: bool, admin: Admin, kit: Refunds) -> RefundRequest:
    """Approves or rejects a request waiting for an admin: the decision is written (with its
    audit entry) conditional on the request still waiting, then the workflow's waiting task is
    answered. Twice, or against a rejection or the timeout, only the first decision counts."""
    request = _request(refund_id, kit)
    to = R.APPROVED if approve else R.REJECTED
    by = f"admin:{admin.actor_id}"
    after = request.move(to, kit.clock(), by, admin.reason, decided_by=by, decision_reason=admin.reason)
    action = AuditAction.REFUND_APPROVED if approve else AuditAction.REFUND_REJECTED
    try:
        decided = kit.book.apply(request, after, _event(after, EMITS[to], admin.reason),
                                 _audit(admin, action, request, to, kit))
    except StaleRefund:
        raise Conflict("The refund request changed meanwhile (decided, or expired); read it again.") from None
    token = kit.book.task_token(refund_id)
    if token:
        answered = kit.workflow.approve(token, by) if approve else kit.workflow.reject(token, by, admin.reason)
        logger.info("refund decision sent to the workflow", extra={"refund_id": refund_id, "answered": answered})
    # No token yet: the workflow has not reached its wait; when it does it finds the decision.
    return decided


def retry(refund_id: str, admin: Admin, kit: Refunds) -> RefundRequest:
    """Sends a failed refund again: approved anew (audited), and a new execution starts from the
    event. PhonePe is asked under the same merchant refund id unless it definitely refused it."""
    request = _request(refund_id, kit)
    after = request.move(R.APPROVED, kit.clock(), f"admin:{admin.actor_id}", f"retried: {admin.reason}",
                         failure_reason=None, execution=execution_name(refund_id, request.version + 1))
    try:
        return kit.book.apply(request, after, _event(after, E.REFUND_APPROVED, admin.reason, retry=True),
                              _audit(admin, AuditAction.REFUND_RETRIED, request, R.APPROVED, kit))
    except StaleRefund:
        raise Conflict("The refund request changed meanwhile; read it again.") from None


# -- the workflow's steps ----------------------------------------------------------------------


def _move(request: RefundRequest, to: RefundStatus, by: str, note: str, kit: Refunds, **facts) -> RefundRequest:
    after = request.move(to, kit.clock(), by, note, **facts)
    kind = EMITS.get(to)
    return kit.book.apply(request, after, _event(after, kind, note) if kind else None)


def validate(refund_id: str, kit: Refunds) -> dict:
    """The first step: what the choice after it needs."""
    request = _request(refund_id, kit)
    return {"refund_id": refund_id, "approved": request.status is R.APPROVED,
            "status": request.status.value, "amount_paise": request.amount.amount, "order_id": request.order_id,
            "approval_timeout_seconds": kit.approval_timeout_seconds}


def await_decision(refund_id: str, task_token: str, kit: Refunds) -> dict:
    """The waiting task: keeps its token where an admin's decision finds it. A decision made
    before the workflow got here is answered at once."""
    request = _request(refund_id, kit)
    try:
        kit.book.apply(request, request.noted(kit.clock()), None, task_token=task_token)
    except StaleRefund:
        request = _request(refund_id, kit)
        kit.book.apply(request, request.noted(kit.clock()), None, task_token=task_token)
    request = _request(refund_id, kit)
    if request.status is R.APPROVED:
        kit.workflow.approve(task_token, request.decided_by or "admin")
    elif request.status is R.REJECTED:
        kit.workflow.reject(task_token, request.decided_by or "admin", request.decision_reason or "rejected")
    return {"refund_id": refund_id, "waiting": request.status is R.REQUESTED}


def decision_timed_out(refund_id: str, kit: Refunds) -> dict:
    """Nobody answered in time: the request expires (the shopper is told), unless an admin's
    approval landed as the timer fired, in which case the refund goes on."""
    request = _request(refund_id, kit)
    if request.status is R.REQUESTED:
        try:
            request = _move(request, R.EXPIRED, "system:refund-approval", "nobody approved it in time", kit)
        except StaleRefund:
            request = _request(refund_id, kit)
    return {"refund_id": refund_id, "approved": request.status is R.APPROVED, "status": request.status.value}


class ProviderBusy(Exception):
    """PhonePe throttled us or failed on its side: the workflow retries this step with backoff,
    under the same merchant refund id."""


def send_refund(refund_id: str, kit: Refunds) -> dict:
    """Asks PhonePe for the refund under the request's merchant refund id, reserved on the
    request before the call: a retry of this step (or of a crashed one) asks under the same id,
    and an id PhonePe already took is never asked again."""
    request = _request(refund_id, kit)
    if request.status is R.REQUESTED:
        # The waiting task was answered from the console (send-task-success with its token), not
        # through our API: the workflow's word is the approval; the history says where it came from.
        request = _move(request, R.APPROVED, "stepfunctions:task-token", "approved through the workflow's task token",
                        kit, decided_by="stepfunctions:task-token")
    if request.status is R.PROCESSING and request.merchant_refund_id:
        record = _record(_order(request.order_id, kit), request.merchant_refund_id)
        if record is not None and record.state is not RefundState.REQUESTED:
            return {"refund_id": refund_id, "merchant_refund_id": request.merchant_refund_id}
    elif request.status is R.APPROVED:
        order = _order(request.order_id, kit)
        reserved = request.merchant_refund_id
        record = _record(order, reserved) if reserved else None
        if record is None or record.state is RefundState.FAILED:
            reserved = merchant_refund_id(order.order_id, len(order.refunds) + 1)
        request = _move(request, R.PROCESSING, "system:refund-approval", f"asking PhonePe ({reserved})", kit,
                        merchant_refund_id=reserved)
    else:
        raise RefundTransitionRefused(request.status, R.PROCESSING)
    assert request.merchant_refund_id is not None
    admin = OrderAdmin(actor_id=request.decided_by or "system", request_id=refund_id,
                       reason=f"refund {refund_id}: {request.reason.value}")
    order = _order(request.order_id, kit)
    existing = _record(order, request.merchant_refund_id)
    if existing is None and merchant_refund_id(order.order_id, len(order.refunds) + 1) != request.merchant_refund_id:
        raise Conflict(f"Order {order.order_id} was refunded by another path meanwhile; not sending {refund_id}.")
    sending = _sending(kit)
    try:
        fulfilment.refund(order.order_id, request.amount, admin, sending.orders, sending.payments(),
                          kit.clock, kit.new_id, sending.refund_callback_url)
    except PaymentProviderRejected as refused:
        _fail(refund_id, f"PhonePe refused the refund: {refused}", kit)
        return {"refund_id": refund_id, "failed": True}
    except DependencyUnavailable as busy:
        raise ProviderBusy(str(busy)) from None
    return {"refund_id": refund_id, "merchant_refund_id": request.merchant_refund_id}


def _sending(kit: Refunds) -> Aftersale:
    if kit.aftersale is None:
        raise RuntimeError("this function does not send refunds (only the workflow's steps do)")
    return kit.aftersale


def _record(order: Order, merchant_refund_id_: str | None):
    return next((r for r in order.refunds if r.merchant_refund_id == merchant_refund_id_), None)


def check_completion(refund_id: str, kit: Refunds) -> dict:
    """Polled by the workflow until PhonePe settles the refund (its webhook may settle it first)."""
    request = _request(refund_id, kit)
    order = fulfilment.view_with_refunds_refreshed(request.order_id, _sending(kit))
    record = _record(order, request.merchant_refund_id)
    state = record.state if record else RefundState.REQUESTED
    outcome = {RefundState.COMPLETED: "completed", RefundState.FAILED: "failed"}.get(state, "pending")
    return {"refund_id": refund_id, "outcome": outcome}


def _completed(request: RefundRequest, kit: Refunds) -> RefundRequest:
    if request.status is not R.PROCESSING:
        return request
    try:
        return _move(request, R.COMPLETED, "provider:phonepe", "refunded by PhonePe", kit, processed_at=kit.clock())
    except StaleRefund:
        return _request(request.refund_id, kit)


def complete(refund_id: str, kit: Refunds) -> dict:
    """PhonePe paid it back: the request is completed and the sellers' (and a scout's) earnings
    are reversed through the ledger hook (once per refund, however often this runs)."""
    request = _completed(_request(refund_id, kit), kit)
    reversed_ = kit.reverse_earnings(request.order_id)
    return {"refund_id": refund_id, "status": request.status.value, "reversal_postings": reversed_}


def follow_order_refund(event: OrderEvent, kit: Refunds) -> RefundRequest | None:
    """The order's refund completed (PhonePe's webhook, or the refund-status poll, moved the
    order): the request under that merchant refund id is completed at once rather than at the
    workflow's next poll, which then finds it so (and reverses the earnings, as the payouts
    consumer of the same event does)."""
    merchant_refund_id_ = event.facts.get("merchant_refund_id")
    request = next((r for r in kit.book.of_order(event.order_id) if r.merchant_refund_id == merchant_refund_id_), None)
    return _completed(request, kit) if request else None


def follow_event(body: str, kit: Refunds) -> str:
    """The workflow events queue carries refund events (start an execution) and the order's
    refund events (complete the request); the body's event type says which."""
    kind = json.loads(body).get("event_type")
    if kind in {t.value for t in RefundEventType}:
        return "started" if start_workflow(RefundEvent.from_json(body), kit.workflow) else "not started"
    order_event = OrderEvent.from_json(body)
    if order_event.event_type in (OrderEventType.PARTIALLY_REFUNDED, OrderEventType.REFUNDED):
        done = follow_order_refund(order_event, kit)
        return f"request {done.refund_id} {done.status.value}" if done else "no request for that refund"
    return "not for refunds"


def _fail(refund_id: str, why: str, kit: Refunds) -> RefundRequest:
    request = _request(refund_id, kit)
    if R.FAILED not in _allowed(request):
        return request
    try:
        return _move(request, R.FAILED, "system:refund-approval", why, kit, failure_reason=why)
    except StaleRefund:
        return _request(refund_id, kit)


def _allowed(request: RefundRequest) -> frozenset[RefundStatus]:
    return TRANSITIONS[request.status]


def record_failure(refund_id: str, error: str, cause: str, kit: Refunds) -> dict:
    """The catch path: why it failed is kept on the request, which an admin may retry."""
    request = _fail(refund_id, f"{error}: {cause}"[:500] if cause else error, kit)
    return {"refund_id": refund_id, "status": request.status.value}



def refund_counts(book: RefundBook) -> dict[str, int]:
    """What diagnostics show: requests waiting for an admin, failed (retryable) and expired."""
    return {"waiting": book.count(R.REQUESTED), "failed": book.count(R.FAILED), "expired": book.count(R.EXPIRED)}
