"""WebSocket $default of the `realtime` API: each frame a client sends (`ping`, or `replay` since
an event id) is answered on its connection; a frame that is not one of ours gets one error frame
and the connection is closed. The connection is looked up: MESSAGE events need not carry the
authorizer's context. A failure of ours is logged and answered 500, never with a trace."""

from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.realtime import services, wiring
from bazaar.realtime.schemas import connection_id_of, message_body
from bazaar.realtime.settings import RealtimeSettings

kit = wiring.realtime(from_environment(RealtimeSettings), pushes=True)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    connection_id = connection_id_of(event)
    try:
        outcome = services.handle_frame(connection_id, message_body(event), kit)
    except Exception:  # noqa: BLE001 - the client gets a status, the log keeps the trace
        logger.exception("realtime frame failed", extra={"connection_id": connection_id})
        return {"statusCode": 500}
    logger.info("realtime frame", extra={"connection_id": connection_id, "outcome": outcome})
    return {"statusCode": 200}
