"""The refund-approval state machine's task function: each task names its step
(bazaar.refunds.services) and the refund; the answer is what the step returns. A step the state
machine runs twice does its work once (every change is conditional on the version read)."""

from pydantic import BaseModel, Field

from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.refunds import services, wiring
from bazaar.refunds.settings import RefundWorkflowSettings

refunds = wiring.refunds(from_environment(RefundWorkflowSettings), audited=True, workflow=True)


class Step(BaseModel):
    step: str = Field(pattern="^[a-z_]{3,40}$")
    refund_id: str = Field(pattern="^rfd_[0-9A-Z]{26}$")
    task_token: str | None = None
    error: str | None = None
    cause: str | None = None


STEPS = {
    "validate": lambda s: services.validate(s.refund_id, refunds),
    "await_decision": lambda s: services.await_decision(s.refund_id, s.task_token or "", refunds),
    "decision_timed_out": lambda s: services.decision_timed_out(s.refund_id, refunds),
    "send_refund": lambda s: services.send_refund(s.refund_id, refunds),
    "check_completion": lambda s: services.check_completion(s.refund_id, refunds),
    "complete": lambda s: services.complete(s.refund_id, refunds),
    "record_failure": lambda s: services.record_failure(s.refund_id, s.error or "Failed", s.cause or "", refunds),
}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    step = Step.model_validate(event)
    logger.info("refund step", extra={"step": step.step, "refund_id": step.refund_id})
    return STEPS[step.step](step)
