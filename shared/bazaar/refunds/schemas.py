"""What the refunds API accepts and answers. Amounts are integer paise; times RFC 3339 UTC."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bazaar.platform.clock import rfc3339
from bazaar.refunds.domain import RefundReason, RefundRequest


class RefundRequestIn(BaseModel):
    """Without an amount, whatever of the order is not refunded yet."""

    model_config = ConfigDict(extra="forbid")

    reason: RefundReason
    amount_paise: int | None = Field(default=None, ge=1)
    note: str = Field(default="", max_length=500)


class AdminRefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_paise: int = Field(ge=1)
    reason: str = Field(min_length=3, max_length=500)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500)


class HistoryOut(BaseModel):
    at: str
    status: str
    by: str
    note: str


class RefundOut(BaseModel):
    refund_id: str
    order_id: str
    amount_paise: int
    reason: str
    note: str
    status: str
    requested_by: str
    auto_approved: bool
    decided_by: str | None
    decision_reason: str | None
    merchant_refund_id: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str
    processed_at: str | None
    execution: str | None  # the refund-approval execution carrying it (Step Functions console)
    history: list[HistoryOut]

    @classmethod
    def of(cls, r: RefundRequest) -> RefundOut:
        return cls(refund_id=r.refund_id, order_id=r.order_id, amount_paise=r.amount.amount, reason=r.reason.value,
                   note=r.note, status=r.status.value, requested_by=r.requested_by, auto_approved=r.auto_approved,
                   decided_by=r.decided_by, decision_reason=r.decision_reason,
                   merchant_refund_id=r.merchant_refund_id, failure_reason=r.failure_reason,
                   created_at=rfc3339(r.created_at), updated_at=rfc3339(r.updated_at),
                   processed_at=rfc3339(r.processed_at) if r.processed_at else None, execution=r.execution,
                   history=[HistoryOut(at=rfc3339(h.at), status=h.status.value, by=h.by, note=h.note)
                            for h in r.history])


class RefundList(BaseModel):
    items: list[RefundOut]


class RefundQueue(BaseModel):
    items: list[RefundOut]
    next_cursor: str | None
    counts: dict[str, int]  # waiting (requested), failed, expired
