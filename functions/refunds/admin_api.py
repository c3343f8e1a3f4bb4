"""Refunds admin API: refund an order (a request approved by asking), the approval queue
(oldest first, with the counts diagnostics need), approve or reject a waiting request (audited
with the decision; the workflow's waiting task is answered), and retry a failed refund."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from bazaar.money import Paise
from bazaar.platform.cursors import cursor_codec
from bazaar.platform.http import HttpApi
from bazaar.platform.idempotency import KEY_PATTERN
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.pagination import clamp_limit
from bazaar.platform.settings import from_environment
from bazaar.refunds import services, wiring
from bazaar.refunds.domain import RefundReason, RefundStatus
from bazaar.refunds.schemas import AdminRefundIn, DecisionIn, RefundOut, RefundQueue
from bazaar.refunds.services import Admin
from bazaar.refunds.settings import RefundSettings

settings = from_environment(RefundSettings)
api = HttpApi(settings)
app = api.app
refunds = wiring.refunds(settings, audited=True, workflow=True)
idempotent = wiring.idempotent_refunds(settings, "order-refund")
CONFLICTS: dict[int, OpenAPIResponse] = {409: {"description": "INVALID_STATE_TRANSITION or CONFLICT"}}


def _admin(body: DecisionIn | AdminRefundIn) -> Admin:
    return Admin(actor_id=api.caller.user_id, request_id=api.request_id, reason=body.reason)


@app.post("/v1/admin/orders/<order_id>/refund", summary="Refund an order (a pre-approved request)",
          responses={202: {"description": "The refund, submitted to PhonePe"}, **CONFLICTS})
def refund_order(order_id: str, body: AdminRefundIn,
                 idempotency_key: Annotated[str, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)]
                 ) -> Response[RefundOut]:
    caller = api.caller.user_id
    return idempotent.respond(
        status=202, caller=caller, key=idempotency_key, body={"order_id": order_id, **body.model_dump(mode="json")},
        perform=lambda: RefundOut.of(services.request_refund(
            order_id, Paise(body.amount_paise), RefundReason.OTHER, body.reason, caller=caller, is_admin=True,
            kit=refunds)))


@app.get("/v1/admin/refunds", summary="Refund requests in a status, oldest first, with the counts")
def queue(status: Annotated[RefundStatus, Query()] = RefundStatus.REQUESTED,
          limit: Annotated[int | None, Query()] = None,
          cursor: Annotated[str | None, Query(max_length=2048)] = None) -> RefundQueue:
    codec = cursor_codec(settings, f"refunds:{status.value}")
    page, after = refunds.book.waiting(status, clamp_limit(limit), codec.decode(cursor))
    return RefundQueue(items=[RefundOut.of(r) for r in page], next_cursor=codec.encode(after),
                       counts=services.refund_counts(refunds.book))


@app.post("/v1/admin/refunds/<refund_id>/approve", summary="Approve a refund request (audited)",
           responses={200: {"description": "The approved refund"}, **CONFLICTS})
def approve(refund_id: str, body: DecisionIn) -> RefundOut:
    return RefundOut.of(services.decide(refund_id, True, _admin(body), refunds))


@app.post("/v1/admin/refunds/<refund_id>/reject", summary="Reject a refund request (audited)",
           responses={200: {"description": "The rejected refund"}, **CONFLICTS})
def reject(refund_id: str, body: DecisionIn) -> RefundOut:
    return RefundOut.of(services.decide(refund_id, False, _admin(body), refunds))


@app.post("/v1/admin/refunds/<refund_id>/retry", summary="Send a failed refund again (audited)",
           responses={200: {"description": "The refund, submitted again"}, **CONFLICTS})
def retry(refund_id: str, body: DecisionIn) -> RefundOut:
    return RefundOut.of(services.retry(refund_id, _admin(body), refunds))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    idempotent.register_lambda_context(context)
    return api.handle(event, context)
