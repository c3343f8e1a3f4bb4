"""DynamoDB stream of `order-events` (the outbox): relays each committed order event to the
queues of the consumers that take its type. A failed send names the first record not relayed
(partial batch response), so the stream mapping hands it and what follows over again; after its
retries the batch's description goes to the dispatcher's failure queue, where an alarm sees it."""

from bazaar.orders import wiring
from bazaar.orders.adapters.stream import batch_response, outbox_records
from bazaar.orders.relay import relay
from bazaar.orders.settings import DispatcherSettings
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment

dispatcher = wiring.dispatcher(from_environment(DispatcherSettings))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    records = outbox_records(event)
    first_undelivered = relay(records, dispatcher.routes, dispatcher.queues)
    logger.info("order events relayed", extra={"events": len(records), "first_undelivered": first_undelivered})
    return batch_response(first_undelivered)
