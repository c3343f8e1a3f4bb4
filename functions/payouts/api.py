"""Payouts API for sellers and scouts: register the payout account (created at RazorpayX, kept
masked), read the balance and ledger postings, the payouts, a seller's statement (JSON or CSV),
and a scout's withdrawal. A seller and a scout call the same use cases on their own routes: who
is paid is always the caller."""

from datetime import date
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from bazaar.payouts import services, wiring
from bazaar.payouts.domain import PayoutTrigger
from bazaar.money import Paise
from bazaar.payouts.schemas import (
    EarningsOut, PayoutAccountIn, PayoutAccountOut, PayoutOut, PayoutPage, StatementOut, WithdrawalIn,
)
from bazaar.payouts.settings import RazorpayXSettings
from bazaar.platform.cursors import cursor_codec
from bazaar.platform.http import HttpApi
from bazaar.platform.idempotency import KEY_PATTERN
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.pagination import clamp_limit
from bazaar.platform.settings import from_environment

settings = from_environment(RazorpayXSettings)
api = HttpApi(settings)
app = api.app
earnings = wiring.earnings(settings, people=True, jobs=True)
idempotent = wiring.withdrawals(settings)
REFUSALS: dict[int, OpenAPIResponse] = {409: {
    "description": "NOTHING_TO_PAY, WITHDRAWAL_EXCEEDS_BALANCE, PAYOUT_ACCOUNT_MISSING or PAYOUTS_HELD"}}


NO_ACCOUNT: dict[int, OpenAPIResponse] = {200: {"description": "The account, masked"},
                                          409: {"description": "PAYOUT_ACCOUNT_MISSING"}}


def _payee() -> str:
    return services.payee_of_caller(api.caller.user_id, api.caller.roles)


@app.put("/v1/seller/payout-account", summary="Register where your payouts go")
@app.put("/v1/scouts/me/payout-account", summary="Register where your earnings go",
         responses={200: {"description": "The account, masked"}, 422: {"description": "PAYOUT_ACCOUNT_INVALID"}, 503: {"description": "PAYOUT_PROVIDER_UNAVAILABLE"}})
def register_account(body: PayoutAccountIn) -> PayoutAccountOut:
    return PayoutAccountOut.of(services.register_payout_account(_payee(), body.holder_name, body.destination(),
                                                                earnings))


@app.get("/v1/seller/payout-account", summary="Your payout account (masked)", responses=NO_ACCOUNT)
@app.get("/v1/scouts/me/payout-account", summary="Your payout account (masked)", responses=NO_ACCOUNT)
def read_account() -> PayoutAccountOut:
    return PayoutAccountOut.of(services.payout_account(_payee(), earnings))


@app.get("/v1/seller/earnings", summary="Your balance and ledger postings, newest first")
@app.get("/v1/scouts/me/earnings", summary="Your balance and bounties, newest first")
def read_earnings(limit: Annotated[int | None, Query()] = None,
                  cursor: Annotated[str | None, Query(max_length=2048)] = None) -> EarningsOut:
    payee = _payee()
    codec = cursor_codec(settings, f"earnings:{payee}")
    balance, postings, after = services.earnings_page(payee, earnings, clamp_limit(limit), codec.decode(cursor))
    return EarningsOut.of(balance, postings, codec.encode(after))


@app.get("/v1/seller/payouts", summary="Your payouts, newest first")
@app.get("/v1/scouts/me/payouts", summary="Your withdrawals, newest first")
def list_payouts(limit: Annotated[int | None, Query()] = None,
                 cursor: Annotated[str | None, Query(max_length=2048)] = None) -> PayoutPage:
    payee = _payee()
    codec = cursor_codec(settings, f"payouts:{payee}")
    payouts, after = earnings.payouts.of_payee(payee, clamp_limit(limit), codec.decode(cursor))
    return PayoutPage(items=[PayoutOut.of(p) for p in payouts], next_cursor=codec.encode(after))


@app.get("/v1/seller/statement", summary="Your statement for a period (UTC dates, both included)", responses={
    200: {"description": "The statement: JSON, or CSV with format=csv",
          "content": {"application/json": {"model": StatementOut}, "text/csv": {"schema": {"type": "string"}}}}})
def read_statement(start: Annotated[date, Query(alias="from")], end: Annotated[date, Query(alias="to")],
                   format: Annotated[Literal["json", "csv"], Query()] = "json") -> Response[StatementOut | str]:
    # The answer is validated against the return type: the CSV is the `str`, the JSON a StatementOut.
    statement = services.statement_for(api.caller.user_id, start, end, earnings)
    if format == "csv":
        return Response(200, "text/csv; charset=utf-8", services.statement_csv(statement), headers={
            "Content-Disposition": f'attachment; filename="bazaar-statement-{start}-{end}.csv"'})
    return Response(200, content_types.APPLICATION_JSON, StatementOut.of(statement))


@app.post("/v1/scouts/me/payouts", summary="Withdraw your available earnings",
           responses={201: {"description": "The payout requested"}, **REFUSALS})
def withdraw(idempotency_key: Annotated[str, Header(alias="Idempotency-Key", pattern=KEY_PATTERN)],
             body: WithdrawalIn | None = None) -> Response[PayoutOut]:
    payee, up_to = _payee(), Paise(body.amount_paise) if body and body.amount_paise else None
    return idempotent.respond(status=201, caller=api.caller.user_id, key=idempotency_key,
                              body={"payee": payee, "up_to": up_to.amount if up_to else None},
                              perform=lambda: PayoutOut.of(services.request_payout(
                                  payee, PayoutTrigger.WITHDRAWAL, f"scout:{api.caller.user_id}", earnings,
                                  up_to=up_to)))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    idempotent.register_lambda_context(context)
    return api.handle(event, context)
