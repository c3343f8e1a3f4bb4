"""Logger, Metrics and Tracer, created once and imported everywhere.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / _METRICS_NAMESPACE, set
for every function by the description."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer

if TYPE_CHECKING:
    import requests

# A request that records no business metric is normal (a health check, a refused call).
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics()
# Subsegments for every AWS call. Tracer's default patches every library the X-Ray SDK knows that
# is installed, which imported requests, sqlite3 and more into every function at its cold start;
# calls outside AWS (providers, the user pool's keys) are traced by the sessions that make them.
tracer = Tracer(patch_modules=("botocore",))


def traced_http_session() -> requests.Session:
    """A requests session for calls outside AWS, each request traced as a subsegment."""
    import requests

    tracer.patch(("requests",))
    return requests.Session()
