"""What the payouts API accepts and answers. Amounts are integer paise; times RFC 3339 UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from bazaar.payouts.domain import Hold, Payout, PayoutAccount
from bazaar.payouts.ledger import Balance, CommissionRule, Posting, Statement
from bazaar.payouts.provider import ACCOUNT_NUMBER, IFSC, VPA, BankAccount, Destination, UpiAddress
from bazaar.platform.clock import rfc3339


class PayoutAccountIn(BaseModel):
    """A bank account (with its IFSC) or a UPI address."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["bank_account", "vpa"]
    holder_name: str = Field(min_length=3, max_length=120)
    ifsc: str | None = Field(default=None, pattern=IFSC.pattern)
    account_number: str | None = Field(default=None, pattern=ACCOUNT_NUMBER.pattern)
    vpa: str | None = Field(default=None, pattern=VPA.pattern, max_length=100)

    @model_validator(mode="after")
    def _one_destination(self) -> PayoutAccountIn:
        if self.kind == "bank_account" and not (self.ifsc and self.account_number):
            raise ValueError("a bank account needs ifsc and account_number")
        if self.kind == "vpa" and not self.vpa:
            raise ValueError("a UPI payout account needs vpa")
        if self.kind == "vpa" and (self.ifsc or self.account_number):
            raise ValueError("a UPI payout account takes no ifsc or account_number")
        if self.kind == "bank_account" and self.vpa:
            raise ValueError("a bank account takes no vpa")
        return self

    def destination(self) -> Destination:
        if self.kind == "vpa":
            assert self.vpa is not None
            return UpiAddress(address=self.vpa)
        assert self.ifsc is not None and self.account_number is not None
        return BankAccount(holder_name=self.holder_name, ifsc=self.ifsc, account_number=self.account_number)


class PayoutAccountOut(BaseModel):
    kind: str
    holder_name: str
    masked: str
    ifsc: str | None
    fund_account_id: str
    registered_at: str

    @classmethod
    def of(cls, account: PayoutAccount) -> PayoutAccountOut:
        return cls(kind=account.kind, holder_name=account.holder_name, masked=account.masked, ifsc=account.ifsc,
                   fund_account_id=account.fund_account_id, registered_at=rfc3339(account.registered_at))


class BalanceOut(BaseModel):
    earned_paise: int
    paid_out_paise: int
    in_flight_paise: int
    available_paise: int

    @classmethod
    def of(cls, balance: Balance) -> BalanceOut:
        return cls(earned_paise=balance.earned.amount, paid_out_paise=balance.paid_out.amount,
                   in_flight_paise=balance.in_flight.amount, available_paise=balance.available.amount)


class EntryOut(BaseModel):
    account: str
    kind: str
    amount_paise: int
    rate_bps: int | None
    base_paise: int | None


class PostingOut(BaseModel):
    posting_id: str
    kind: str
    order_id: str
    posted_at: str
    net_paise: int
    note: str
    entries: list[EntryOut]

    @classmethod
    def of(cls, posting: Posting) -> PostingOut:
        return cls(posting_id=posting.posting_id, kind=posting.kind.value, order_id=posting.order_id,
                   posted_at=rfc3339(posting.posted_at), net_paise=posting.net.amount, note=posting.note,
                   entries=[EntryOut(account=e.account, kind=e.kind.value, amount_paise=e.amount.amount,
                                     rate_bps=e.rate_bps, base_paise=e.base.amount if e.base is not None else None)
                            for e in posting.entries])


class EarningsOut(BaseModel):
    balance: BalanceOut
    items: list[PostingOut]
    next_cursor: str | None

    @classmethod
    def of(cls, balance: Balance, postings: list[Posting], next_cursor: str | None) -> EarningsOut:
        return cls(balance=BalanceOut.of(balance), items=[PostingOut.of(p) for p in postings], next_cursor=next_cursor)


class PayoutOut(BaseModel):
    payout_id: str
    payee_id: str
    payee_role: str
    amount_paise: int
    status: str
    postings: list[str]
    trigger: str
    mode: str
    attempt: int
    provider_payout_id: str | None
    provider_status: str | None
    utr: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str
    processed_at: str | None
    failed_at: str | None
    reversed_at: str | None
    provider_response: dict | None = None

    @classmethod
    def of(cls, payout: Payout, *, with_provider_response: bool = False) -> PayoutOut:
        def at(moment: datetime | None) -> str | None:
            return rfc3339(moment) if moment else None

        return cls(payout_id=payout.payout_id, payee_id=payout.payee_id, payee_role=payout.role.value,
                   amount_paise=payout.amount.amount, status=payout.status.value,
                   postings=[ref.posting_id for ref in payout.postings], trigger=payout.trigger.value,
                   mode=payout.mode, attempt=payout.attempt, provider_payout_id=payout.provider_payout_id,
                   provider_status=payout.provider_status, utr=payout.utr, failure_reason=payout.failure_reason,
                   created_at=rfc3339(payout.created_at), updated_at=rfc3339(payout.updated_at),
                   processed_at=at(payout.processed_at), failed_at=at(payout.failed_at),
                   reversed_at=at(payout.reversed_at),
                   provider_response=payout.provider_response if with_provider_response else None)


class PayoutPage(BaseModel):
    items: list[PayoutOut]
    next_cursor: str | None


class StatementOut(BaseModel):
    seller_id: str
    start: str
    end: str
    gross_paise: int
    commission_paise: int
    gateway_fees_paise: int
    tcs_paise: int
    tds_paise: int
    net_paise: int
    postings: list[PostingOut]

    @classmethod
    def of(cls, statement: Statement) -> StatementOut:
        return cls(seller_id=statement.seller_id, start=rfc3339(statement.start), end=rfc3339(statement.end),
                   gross_paise=statement.gross.amount, commission_paise=statement.commission.amount,
                   gateway_fees_paise=statement.gateway_fees.amount, tcs_paise=statement.tcs.amount,
                   tds_paise=statement.tds.amount, net_paise=statement.net.amount,
                   postings=[PostingOut.of(p) for p in statement.lines])


class WithdrawalIn(BaseModel):
    """Without an amount, the whole available balance; with one, at most that much (whole
    postings, oldest first: bounties are not split)."""

    model_config = ConfigDict(extra="forbid")

    amount_paise: int | None = Field(default=None, ge=100)


class AdminReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500)


class PayeeActionIn(AdminReasonIn):
    role: Literal["seller", "scout"]


class HoldOut(BaseModel):
    payee_id: str
    held: bool
    reason: str | None = None
    by: str | None = None
    at: str | None = None
    payouts_released: int | None = None

    @classmethod
    def of(cls, payee_id: str, hold: Hold | None, released: int | None = None) -> HoldOut:
        if hold is None:
            return cls(payee_id=payee_id, held=False, payouts_released=released)
        return cls(payee_id=payee_id, held=True, reason=hold.reason, by=hold.by, at=rfc3339(hold.at))


class CommissionRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strict: a JSON true or false is not a rate or an amount.
    bps: StrictInt = Field(ge=0, le=10_000)
    seller_id: str | None = Field(default=None, pattern=r"^usr_[0-9A-Z]{26}$")
    category: str | None = Field(default=None, min_length=1, max_length=60)
    minimum_paise: StrictInt | None = Field(default=None, ge=0)
    maximum_paise: StrictInt | None = Field(default=None, ge=0)
    reason: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _needs_scope(self) -> CommissionRuleIn:
        if self.seller_id is None and self.category is None:
            raise ValueError("name a seller_id, a category or both (the default is PLATFORM_FEE_BPS)")
        if self.minimum_paise is not None and self.maximum_paise is not None and self.minimum_paise > self.maximum_paise:
            raise ValueError("minimum_paise is above maximum_paise")
        return self


class CommissionRuleOut(BaseModel):
    scope: str
    bps: int
    seller_id: str | None
    category: str | None
    minimum_paise: int | None
    maximum_paise: int | None

    @classmethod
    def of(cls, rule: CommissionRule) -> CommissionRuleOut:
        return cls(scope=rule.scope, bps=rule.bps, seller_id=rule.seller_id, category=rule.category,
                   minimum_paise=rule.minimum.amount if rule.minimum else None,
                   maximum_paise=rule.maximum.amount if rule.maximum else None)
