"""The refunds context's composition root: what its functions build once, at cold start."""

from __future__ import annotations

from bazaar.money import Paise
from bazaar.orders import wiring as orders_wiring
from bazaar.payouts import wiring as payouts_wiring
from bazaar.payouts.services import reverse_refunds
from bazaar.payouts.settings import PayoutSettings
from bazaar.platform import aws
from bazaar.platform.clock import utc_now
from bazaar.platform.idempotency import IdempotentRequests
from bazaar.platform.ids import new_id
from bazaar.platform.settings import Settings
from bazaar.refunds.adapters.dynamodb import DynamoDbRefundBook
from bazaar.refunds.adapters.stepfunctions import StepFunctionsWorkflow
from bazaar.refunds.domain import RefundPolicy
from bazaar.refunds.services import Refunds
from bazaar.refunds.settings import RefundSettings


class NoWorkflow:
    """For functions that neither start executions nor answer their tasks."""

    def start(self, execution: str, refund_id: str) -> bool:
        raise RuntimeError("this function does not start refund workflows")

    def approve(self, task_token: str, by: str) -> bool:
        raise RuntimeError("this function does not answer refund workflows")

    def reject(self, task_token: str, by: str, reason: str) -> bool:
        raise RuntimeError("this function does not answer refund workflows")


def _no_reversal(order_id: str) -> int:
    raise RuntimeError("this function does not reverse earnings")


def refunds(settings: RefundSettings, *, audited: bool = False, workflow: bool = False) -> Refunds:
    """The kit; a function with RefundWorkflowSettings runs the workflow's steps: it sends refunds
    (audited on the order) and reverses earnings through payouts."""
    workflow_steps = isinstance(settings, PayoutSettings)
    dynamodb = aws.client("dynamodb")
    earnings = payouts_wiring.earnings(settings) if isinstance(settings, PayoutSettings) else None
    return Refunds(
        book=DynamoDbRefundBook(dynamodb, settings.table("refunds"), settings.table("order-events"),
                                settings.table("audit") if audited else None),
        orders=orders_wiring.order_book(settings),
        # Refunds are written with their audit entry (the decision's actor), and queue no shipments.
        aftersale=orders_wiring.aftersale(settings, audited=True, requeues_shipments=False) if workflow_steps
        else None,
        workflow=refund_workflow(settings) if workflow else NoWorkflow(),
        reverse_earnings=(lambda order_id: reverse_refunds(order_id, earnings)) if earnings else _no_reversal,
        policy=RefundPolicy(window=settings.refund_window, auto_approve_up_to=Paise(settings.refund_auto_approve_paise)),
        approval_timeout_seconds=settings.refund_approval_timeout_seconds,
        clock=utc_now,
        new_id=new_id,
    )


def idempotent_refunds(settings: Settings, operation: str) -> IdempotentRequests:
    """Creating a refund request answers its Idempotency-Key the way every creating POST does."""
    return IdempotentRequests(operation, settings.table("idempotency"), aws.client("dynamodb"))


def refund_workflow(settings: Settings) -> StepFunctionsWorkflow:
    """The refund-approval state machine, for functions that declare it."""
    return StepFunctionsWorkflow(aws.client("stepfunctions"), settings.state_machine_arn("refund-approval"))
