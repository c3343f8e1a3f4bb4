"""WebSocket $connect of the `realtime` API: the identity authorizer has let the caller in; their
connection joins their own audience (and `admins` for an admin). An event without the
authorizer's context is refused."""

from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.realtime import services, wiring
from bazaar.realtime.schemas import connect_request
from bazaar.realtime.settings import RealtimeSettings

kit = wiring.realtime(from_environment(RealtimeSettings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    try:
        request = connect_request(event)
    except ValueError as refused:
        logger.warning("realtime connection refused", extra={"why": str(refused)})
        return {"statusCode": 403}
    services.connect(request.user_id, request.roles, request.connection_id, request.connected_at, kit)
    return {"statusCode": 200}
