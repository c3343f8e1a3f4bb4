"""Queues the orders context writes to: the consumers' queues (the outbox relay) and `shipments`
(an admin re-driving a shipment job)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from bazaar.orders.relay import OutboxRecord
from bazaar.platform.observability import logger

_SQS_BATCH = 10


class SqsEventQueues:
    def __init__(self, sqs, queue_urls: Mapping[str, str]):
        self._sqs = sqs
        self._urls = dict(queue_urls)

    def send(self, queue: str, records: Sequence[OutboxRecord]) -> set[str]:
        failed: set[str] = set()
        for start in range(0, len(records), _SQS_BATCH):
            chunk = records[start : start + _SQS_BATCH]
            entries = [
                {"Id": str(n), "MessageBody": r.body, "MessageAttributes": {
                    "event_type": {"DataType": "String", "StringValue": r.event_type},
                    "event_id": {"DataType": "String", "StringValue": r.event_id},
                }}
                for n, r in enumerate(chunk)
            ]
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._urls[queue], Entries=entries)
            except (ClientError, BotoCoreError) as error:
                logger.warning("could not send events to a queue; the stream will redeliver them",
                               extra={"queue": queue, "events": len(chunk), "error": type(error).__name__})
                failed |= {r.event_id for r in chunk}
                continue
            for failure in answer.get("Failed", []):
                failed.add(chunk[int(failure["Id"])].event_id)
        return failed


class SqsShipmentJobs:
    """The `shipments` queue. The message is only the order id: the worker reads the order."""

    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def enqueue(self, order_id: str) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps({"order_id": order_id}))
