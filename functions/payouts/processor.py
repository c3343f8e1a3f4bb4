"""SQS worker for `payouts`: sends one payout (`{"payout_id"}`) to RazorpayX with its attempt's
X-Payout-Idempotency key and records the answer. An unknown outcome (timeout, 5xx) fails the
record and SQS retries it with the same key, so RazorpayX returns the payout it made rather
than making a second; a definite refusal fails the payout and gives its postings back."""

from pydantic import BaseModel, Field

from bazaar.payouts import wiring
from bazaar.payouts.services import send_payout
from bazaar.payouts.settings import RazorpayXSettings
from bazaar.platform.edge import sqs_worker
from bazaar.platform.ids import id_pattern
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment


class PayoutJob(BaseModel):
    payout_id: str = Field(pattern=id_pattern("pay"))


earnings = wiring.earnings(from_environment(RazorpayXSettings))
send = sqs_worker(PayoutJob.model_validate_json, lambda job, _: send_payout(job.payout_id, earnings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return send(event, context)
