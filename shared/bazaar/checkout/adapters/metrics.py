from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from bazaar.checkout.domain import CleanupReport
from bazaar.ops.domain import JobRun
from bazaar.platform.observability import logger, metrics


def publish_cleanup(run: JobRun, report: CleanupReport) -> None:
    """What the `stock-locks-unreleased` alarm watches: how many locks that had expired when the
    run began are still held when it ends (0 when all are back), and the age of the oldest of them.
    Emitted every run, so silence is itself a signal."""
    metrics.add_metric(name="ExpiredLocksStillHeld", unit=MetricUnit.Count, value=report.expired_still_held)
    metrics.add_metric(name="UnreleasedExpiredLockAgeSeconds", unit=MetricUnit.Seconds,
                       value=report.unreleased_age_seconds(run.started_at))
    metrics.add_metric(name="StockLocksReleased", unit=MetricUnit.Count, value=report.units_released)
    metrics.add_metric(name="StockCleanupErrors", unit=MetricUnit.Count, value=report.errors)
    logger.info("stock cleanup", extra={"summary": run.summary, "duration_ms": run.duration_ms})
