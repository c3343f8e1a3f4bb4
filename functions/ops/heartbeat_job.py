"""Scheduled: records a heartbeat so operators (and an alarm) can tell schedules are firing."""

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from bazaar.ops import services, wiring
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

job_runs = wiring.job_runs(from_environment(Settings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    run = services.record_heartbeat(job_runs, now=lambda: datetime.now(UTC))
    metrics.add_metric(name="SchedulerHeartbeat", unit=MetricUnit.Count, value=1)
    logger.info("heartbeat", extra={"at": run.started_at.isoformat()})
    return {"job": run.job, "at": run.started_at.isoformat()}
