"""Queues the shipping context writes to."""

from __future__ import annotations

import json

from bazaar.shipping.domain import TrackingEvent


class SqsTrackingEvents:
    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def put(self, event: TrackingEvent) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=event.model_dump_json())


class SqsShipmentJobs:
    """The `shipments` queue. The message is only the order id: the worker reads the order."""

    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def enqueue(self, order_id: str) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps({"order_id": order_id}))
