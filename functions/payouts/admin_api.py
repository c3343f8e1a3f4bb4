"""Payouts admin API: list and read payouts, pay a payee now, retry a failed payout as a new
attempt, cancel one RazorpayX has queued, hold and release a payee's payouts, and set
commission rules. Every change is written with its audit entry in one transaction."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from bazaar.payouts import services, wiring
from bazaar.payouts.domain import PayoutStatus, PayoutTrigger
from bazaar.payouts.ledger import CommissionRule, PayeeRole, payee_account
from bazaar.payouts.schemas import (
    AdminReasonIn, BalanceOut, CommissionRuleIn, CommissionRuleOut, HoldOut, PayeeActionIn, PayoutOut, PayoutPage,
)
from bazaar.payouts.services import Admin
from bazaar.payouts.settings import RazorpayXSettings
from bazaar.platform.cursors import cursor_codec
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.pagination import clamp_limit
from bazaar.platform.settings import from_environment
from bazaar.money import Paise

settings = from_environment(RazorpayXSettings)
api = HttpApi(settings)
app = api.app
earnings = wiring.earnings(settings, jobs=True, audited=True)
CONFLICTS: dict[int, OpenAPIResponse] = {409: {"description": "INVALID_STATE_TRANSITION, NOTHING_TO_PAY, PAYOUTS_HELD or CONFLICT"}}


def _admin(body: AdminReasonIn | CommissionRuleIn) -> Admin:
    return Admin(actor_id=api.caller.user_id, request_id=api.request_id, reason=body.reason)


@app.get("/v1/admin/payouts", summary="Payouts, newest first, optionally of one status")
def list_payouts(status: Annotated[PayoutStatus | None, Query()] = None,
                 limit: Annotated[int | None, Query()] = None,
                 cursor: Annotated[str | None, Query(max_length=2048)] = None) -> PayoutPage:
    codec = cursor_codec(settings, f"admin-payouts:{status}")
    payouts, after = earnings.payouts.find(status, clamp_limit(limit), codec.decode(cursor))
    return PayoutPage(items=[PayoutOut.of(p) for p in payouts], next_cursor=codec.encode(after))


@app.get("/v1/admin/payouts/<payout_id>", summary="One payout with RazorpayX's last answer")
def read_payout(payout_id: str) -> PayoutOut:
    return PayoutOut.of(services.find_payout(payout_id, earnings), with_provider_response=True)


@app.post("/v1/admin/payouts/<payout_id>/retry", summary="Retry a failed payout (audited)",
           responses={200: {"description": "The payout, queued again"}, **CONFLICTS})
def retry(payout_id: str, body: AdminReasonIn) -> PayoutOut:
    return PayoutOut.of(services.retry_payout(payout_id, _admin(body), earnings))


@app.post("/v1/admin/payouts/<payout_id>/cancel", summary="Cancel a queued payout (audited)",
           responses={200: {"description": "The cancelled payout"}, **CONFLICTS})
def cancel(payout_id: str, body: AdminReasonIn) -> PayoutOut:
    return PayoutOut.of(services.cancel_payout(payout_id, _admin(body), earnings))


@app.post("/v1/admin/payees/<user_id>/payouts", summary="Pay a payee their available balance now",
          responses={200: {"description": "The payout requested"}, **CONFLICTS})
def pay_now(user_id: str, body: PayeeActionIn) -> PayoutOut:
    payee = payee_account(PayeeRole(body.role), user_id)
    return PayoutOut.of(services.request_payout(payee, PayoutTrigger.ADMIN, f"admin:{api.caller.user_id}", earnings,
                                                admin=_admin(body)))


@app.get("/v1/admin/payees/<user_id>/balance", summary="A payee's balance from the ledger")
def balance(user_id: str, role: Annotated[PayeeRole, Query()]) -> BalanceOut:
    return BalanceOut.of(services.balance_of(payee_account(role, user_id), earnings))


@app.post("/v1/admin/payees/<user_id>/hold", summary="Hold a payee's payouts (audited)")
def hold(user_id: str, body: PayeeActionIn) -> HoldOut:
    return HoldOut.of(user_id, services.hold_payee(payee_account(PayeeRole(body.role), user_id), _admin(body),
                                                   earnings))


@app.post("/v1/admin/payees/<user_id>/release", summary="Release a payee's payouts (audited)",
           responses={200: {"description": "The payee's hold, released"}, **CONFLICTS})
def release(user_id: str, body: PayeeActionIn) -> HoldOut:
    released = services.release_payee(payee_account(PayeeRole(body.role), user_id), _admin(body), earnings)
    return HoldOut.of(user_id, None, released)


@app.get("/v1/admin/commission-rules", summary="Commission rules by seller and category")
def list_rules() -> list[CommissionRuleOut]:
    return [CommissionRuleOut.of(r) for r in earnings.payouts.commission_rules()]


@app.put("/v1/admin/commission-rules", summary="Set a seller's or a category's commission (audited)")
def set_rule(body: CommissionRuleIn) -> CommissionRuleOut:
    rule = CommissionRule(body.bps, body.seller_id, body.category,
                          Paise(body.minimum_paise) if body.minimum_paise is not None else None,
                          Paise(body.maximum_paise) if body.maximum_paise is not None else None)
    return CommissionRuleOut.of(services.set_commission_rule(rule, _admin(body), earnings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
