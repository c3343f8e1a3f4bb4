"""The payment metrics (EMF through powertools) and the one place that names them."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from bazaar.payments.domain import Settlement
from bazaar.platform.observability import metrics

_BY_SETTLEMENT = {
    Settlement.PAID: "PaymentSucceeded",
    Settlement.FAILED: "PaymentFailed",
    Settlement.EXPIRED: "PaymentFailed",
    Settlement.REFUND_NEEDED: "PaymentNeedsRefund",  # paid after its stock was sold to others
    Settlement.MISMATCH: "PaymentAmountMismatch",  # the `payment-amount-mismatch` alarm
    Settlement.UNKNOWN_ORDER: "PaymentForUnknownOrder",
}


def payment_initiated() -> None:
    metrics.add_metric(name="PaymentInitiated", unit=MetricUnit.Count, value=1)


def settled(outcome: Settlement | None, count: int = 1) -> None:
    name = _BY_SETTLEMENT.get(outcome) if outcome else None
    if name and count:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)


def reconciliation_run(checked: int, settled_count: int, errors: int) -> None:
    metrics.add_metric(name="ReconciliationChecked", unit=MetricUnit.Count, value=checked)
    metrics.add_metric(name="ReconciliationSettled", unit=MetricUnit.Count, value=settled_count)
    metrics.add_metric(name="ReconciliationErrors", unit=MetricUnit.Count, value=errors)
