"""SQS worker: each message is one Notification; a bad or failing record fails alone (partial
batch response) and, after the queue's max receives, rests in the DLQ where an alarm sees it."""


from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bazaar.notifications import services
from bazaar.notifications.adapters.dynamodb import DynamoDbFeeds
from bazaar.notifications.domain import Notification
from bazaar.platform import aws
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import Settings, from_environment

settings = from_environment(Settings)
feeds = DynamoDbFeeds(aws.client("dynamodb"), settings.table("notifications"))
processor = BatchProcessor(event_type=EventType.SQS)


def deliver(record: SQSRecord) -> None:
    notification = Notification.model_validate_json(record.body)
    delivered = services.deliver(notification, feeds)
    logger.info(
        "notification delivered" if delivered else "notification already delivered",
        extra={"notification_id": notification.notification_id},
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
