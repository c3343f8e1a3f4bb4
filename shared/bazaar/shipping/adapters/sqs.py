"""Queues the shipping context writes to."""

from __future__ import annotations

from bazaar.shipping.domain import TrackingEvent


class SqsTrackingEvents:
    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def put(self, event: TrackingEvent) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=event.model_dump_json())
