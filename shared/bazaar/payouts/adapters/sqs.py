"""The `payouts` queue: one message per payout to send. Only the payout id: the processor reads
the payout, so a redelivered or duplicated message sends nothing twice."""

from __future__ import annotations

import json


class SqsPayoutJobs:
    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def enqueue(self, payout_id: str) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps({"payout_id": payout_id}))


class SqsPayoutWebhooks:
    """The `payout-webhooks` queue: verified RazorpayX webhooks for the worker to apply."""

    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def enqueue(self, webhook_json: str) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=webhook_json)
