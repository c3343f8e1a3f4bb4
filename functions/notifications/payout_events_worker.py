"""SQS worker for `payout-notifications`: each message is one payout or bounty event (relayed
from the outbox); the payee gets one feed entry per event, however often it is delivered."""

from bazaar.notifications import services, wiring
from bazaar.payouts.events import PayoutEvent
from bazaar.platform.edge import sqs_worker
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.notifications.settings import NotificationSettings
from bazaar.platform.settings import from_environment

outlets = wiring.outlets(from_environment(NotificationSettings))
notify = sqs_worker(PayoutEvent.from_json, lambda event, _: services.tell_the_payee(event, outlets))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return notify(event, context)
