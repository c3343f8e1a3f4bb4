"""WebSocket $disconnect of the `realtime` API: the connection's record goes (API Gateway may not
always send it; a post answered 410 and the record's TTL remove what it misses)."""

from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.realtime import services, wiring
from bazaar.realtime.schemas import connection_id_of
from bazaar.realtime.settings import RealtimeSettings

kit = wiring.realtime(from_environment(RealtimeSettings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    services.disconnect(connection_id_of(event), kit)
    return {"statusCode": 200}
