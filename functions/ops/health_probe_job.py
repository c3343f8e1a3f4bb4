"""Scheduled: the health check GET /health answers with, reported as a metric for the
`health-failing` alarm (which also fires when this stops reporting)."""

from bazaar.ops import services, wiring
from bazaar.ops.adapters.metrics import publish_health
from bazaar.ops.settings import OpsSettings
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

settings = from_environment(OpsSettings)
probes = wiring.health_probes(settings)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    report = services.check_health(settings.version, probes)
    publish_health(report)
    return {"healthy": report.healthy, "down": [d.name for d in report.dependencies if not d.healthy]}
