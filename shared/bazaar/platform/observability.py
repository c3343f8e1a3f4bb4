"""Logger, Metrics and Tracer, created once and imported everywhere.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / _METRICS_NAMESPACE, set
for every function by the description."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer()
