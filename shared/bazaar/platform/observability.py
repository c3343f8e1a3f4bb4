"""Logger, Metrics and Tracer, created once and imported everywhere.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / _METRICS_NAMESPACE, set
for every function by the description."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# A request that records no business metric is normal (a health check, a refused call).
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics()
tracer = Tracer()
