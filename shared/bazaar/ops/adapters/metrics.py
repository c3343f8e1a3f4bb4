"""The health probe's metric (EMF through powertools), named in one place."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from bazaar.ops.domain import HealthReport
from bazaar.platform.observability import logger, metrics

# What the `health-failing` alarm watches: 1 when every dependency answered, 0 when one did not.
HEALTH_CHECK_PASSED = "HealthCheckPassed"


def publish_health(report: HealthReport) -> None:
    metrics.add_metric(name=HEALTH_CHECK_PASSED, unit=MetricUnit.Count, value=1 if report.healthy else 0)
    down = [{"name": d.name, "problem": d.problem} for d in report.dependencies if not d.healthy]
    if down:
        logger.error("health check failed", extra={"down": down})
    else:
        logger.info("health check passed")
