"""Refund requests and the refund-approval workflow's steps over the fakes: the policy, one open
request per order, one outcome per decision race, one PhonePe refund per request however often
a step runs, and the sellers' earnings reversed once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bazaar.money import Paise
from bazaar.orders.domain import OrderStatus, RefundState
from bazaar.orders.wiring import Aftersale
from bazaar.payments.domain import PaymentProviderRejected, PaymentProviderUnavailable
from bazaar.payments.domain import RefundState as PhonePeRefundState
from bazaar.refunds import services
from bazaar.refunds.domain import (
    RefundAlreadyOpen, RefundExceedsPaidRequest, RefundNotAllowed, RefundPolicy, RefundReason, RefundStatus,
    RefundTransitionRefused, RefundWindowClosed,
)
from bazaar.refunds.services import Admin, ProviderBusy, Refunds
from tests.unit.fakes import Shop
from tests.unit.refund_fakes import FakeRefundBook, FakeWorkflow

R = RefundStatus
ADMIN = Admin("usr_ADMIN", "req-1", "photos show the damage")


class Kit:
    def __init__(self) -> None:
        self.shop = Shop()
        self.book = FakeRefundBook()
        self.workflow = FakeWorkflow()
        self.reversed: list[str] = []
        self.refunds = Refunds(
            book=self.book, orders=self.shop.orders,
            aftersale=Aftersale(orders=self.shop.orders, jobs=self.shop.jobs, payments=lambda: self.shop.phonepe,
                                refund_callback_url="", clock=self.shop.clock, new_id=self.shop.new_id),
            workflow=self.workflow, reverse_earnings=lambda order_id: self.reversed.append(order_id) or 1,
            policy=RefundPolicy(window=timedelta(days=7), auto_approve_up_to=Paise(10_000)),
            approval_timeout_seconds=3600, clock=self.shop.clock, new_id=self.shop.new_id,
        )

    def delivered(self):
        from bazaar.orders.fulfilment import mark_delivered
        from bazaar.orders.aftersale import Admin as OrderAdmin
        from bazaar.orders.services import change_status

        order = self.shop.paid_order(("var_RED", 1))
        change_status(self.shop.orders, order.order_id,
                      lambda o: o.transition(OrderStatus.SHIPMENT_CREATED, self.shop.clock(), "booked"))
        return mark_delivered(order.order_id, OrderAdmin("usr_ADMIN", "r", "signed"), self.shop.orders,
                              self.shop.clock, self.shop.new_id)

    def ask(self, order, amount: int | None = None, caller: str | None = None):
        return services.request_refund(order.order_id, Paise(amount) if amount is not None else None,
                                       RefundReason.DAMAGED, "", caller=caller or order.customer_id, is_admin=False,
                                       kit=self.refunds)

    def waiting_task(self, request) -> str:
        token = f"token-{request.refund_id}"
        self.workflow.waiting.add(token)
        services.await_decision(request.refund_id, token, self.refunds)
        return token


@pytest.fixture
def kit() -> Kit:
    return Kit()


def test_before_shipment_a_refund_is_approved_by_the_policy(kit):
    order = kit.shop.paid_order()

    request = kit.ask(order)

    assert request.status is R.APPROVED and request.auto_approved and request.decided_by == "policy"
    assert request.amount == order.total
    assert services.validate(request.refund_id, kit.refunds)["approved"] is True
    assert services.start_workflow(kit.book.outbox[-1], kit.workflow) is True
    assert services.start_workflow(kit.book.outbox[-1], kit.workflow) is False  # redelivered


def test_after_delivery_a_large_refund_waits_for_an_admin_and_a_small_one_does_not(kit):
    order = kit.delivered()
    big = kit.ask(order, order.total.amount - 1)
    assert big.status is R.REQUESTED and not big.auto_approved
    assert kit.ask(kit.delivered(), 100).status is R.APPROVED


def test_the_policy_refuses_what_may_not_be_asked(kit):
    order = kit.delivered()
    with pytest.raises(RefundExceedsPaidRequest):
        kit.ask(order, order.total.amount + 1)
    kit.ask(order, 100)
    with pytest.raises(RefundAlreadyOpen):
        kit.ask(order, 100)
    later = kit.delivered()
    kit.shop.clock.advance(days=8)
    with pytest.raises(RefundWindowClosed):
        kit.ask(later, 100)
    unpaid = kit.shop.checkout(("var_RED", 1)).order
    with pytest.raises(RefundNotAllowed):
        kit.ask(unpaid)
    from bazaar.orders.domain import OrderNotFound
    with pytest.raises(OrderNotFound):
        kit.ask(kit.shop.paid_order(("var_RED", 1)), caller="usr_SOMEBODY_ELSE")


def test_an_admin_decision_answers_the_waiting_task_and_only_the_first_counts(kit):
    request = kit.ask(kit.delivered(), 20_000)
    token = kit.waiting_task(request)

    approved = services.decide(request.refund_id, True, ADMIN, kit.refunds)

    assert approved.status is R.APPROVED and kit.workflow.answers == [(token, "approved")]
    assert [a.action.value for a in kit.book.audit] == ["refund.approved"]
    with pytest.raises(RefundTransitionRefused):
        services.decide(request.refund_id, False, ADMIN, kit.refunds)  # rejected after approval: refused
    assert kit.workflow.answers == [(token, "approved")]


def test_a_decision_before_the_workflow_waits_is_answered_when_it_gets_there(kit):
    request = kit.ask(kit.delivered(), 20_000)
    services.decide(request.refund_id, False, ADMIN, kit.refunds)

    token = kit.waiting_task(request)

    assert kit.workflow.answers == [(token, "rejected")]
    assert kit.book.outbox[-1].event_type.value == "RefundRejected"


def test_the_timeout_expires_a_waiting_request_but_not_one_approved_as_it_fired(kit):
    first = kit.ask(kit.delivered(), 20_000)
    assert services.decision_timed_out(first.refund_id, kit.refunds) == {
        "refund_id": first.refund_id, "approved": False, "status": "expired"}
    with pytest.raises(RefundTransitionRefused):
        services.decide(first.refund_id, True, ADMIN, kit.refunds)

    second = kit.ask(kit.delivered(), 20_000)
    services.decide(second.refund_id, True, ADMIN, kit.refunds)
    assert services.decision_timed_out(second.refund_id, kit.refunds)["approved"] is True


def test_phonepe_is_asked_once_per_request_however_often_the_step_runs(kit):
    order = kit.shop.paid_order()
    request = kit.ask(order)
    kit.shop.phonepe.fail_next("refund", PaymentProviderUnavailable("PhonePe answered 503"))

    with pytest.raises(ProviderBusy):
        services.send_refund(request.refund_id, kit.refunds)
    services.send_refund(request.refund_id, kit.refunds)  # the workflow's retry: the same id
    services.send_refund(request.refund_id, kit.refunds)  # a step run twice: nothing more

    refunds = [c for c in kit.shop.phonepe.calls if c[0] == "refund"]
    assert refunds == [("refund", f"{order.order_id}-R01")] * 2  # the failed call and the one retry
    assert len(kit.shop.orders.get(order.order_id).refunds) == 1
    assert kit.book.get(request.refund_id).status is R.PROCESSING


def test_completion_reverses_the_earnings_once_and_tells_the_shopper(kit):
    order = kit.shop.paid_order()
    request = kit.ask(order)
    services.send_refund(request.refund_id, kit.refunds)
    assert services.check_completion(request.refund_id, kit.refunds)["outcome"] == "pending"
    kit.shop.phonepe.settle_refund(f"{order.order_id}-R01", PhonePeRefundState.COMPLETED)
    assert services.check_completion(request.refund_id, kit.refunds)["outcome"] == "completed"

    services.complete(request.refund_id, kit.refunds)
    services.complete(request.refund_id, kit.refunds)

    done = kit.book.get(request.refund_id)
    assert done.status is R.COMPLETED and done.processed_at is not None
    assert kit.shop.orders.get(order.order_id).status is OrderStatus.REFUNDED
    assert [e.event_type.value for e in kit.book.outbox].count("RefundCompleted") == 1
    assert kit.book.open_markers == {}


def test_a_refusal_fails_the_request_and_an_admin_retry_asks_under_a_new_id(kit):
    order = kit.shop.paid_order()
    request = kit.ask(order)
    kit.shop.phonepe.fail_next("refund", PaymentProviderRejected("PhonePe refused: KEY_NOT_CONFIGURED"))

    assert services.send_refund(request.refund_id, kit.refunds)["failed"] is True
    failed = kit.book.get(request.refund_id)
    assert failed.status is R.FAILED and "refused" in failed.failure_reason
    assert kit.shop.orders.get(order.order_id).refunds[0].state is RefundState.FAILED

    retried = services.retry(request.refund_id, ADMIN, kit.refunds)
    assert retried.status is R.APPROVED and kit.book.outbox[-1].facts["retry"] is True
    assert services.start_workflow(kit.book.outbox[-1], kit.workflow) is True
    services.send_refund(request.refund_id, kit.refunds)
    assert kit.book.get(request.refund_id).merchant_refund_id == f"{order.order_id}-R02"
    with pytest.raises(RefundTransitionRefused):
        services.retry(request.refund_id, ADMIN, kit.refunds)  # only a failed refund is retried


def test_the_description_routes_exactly_the_refund_events_acted_on():
    from bazaar.notifications.refund_updates import NOTIFIED_REFUND_EVENTS
    from bazaar.refunds.events import RefundEventType
    from infra.description.contexts import notifications, refunds

    assert notifications.NOTIFIED_REFUND_EVENTS == NOTIFIED_REFUND_EVENTS
    assert set(NOTIFIED_REFUND_EVENTS) == {t.value for t in RefundEventType}
    assert tuple(sorted((RefundEventType.REFUND_REQUEST_OPENED.value,
                                                    RefundEventType.REFUND_APPROVED.value))) == refunds.STARTING_EVENTS
