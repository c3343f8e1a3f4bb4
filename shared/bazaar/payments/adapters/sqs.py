"""Verified webhooks go to the `payment-events` queue; the worker takes them from there."""

from __future__ import annotations

from bazaar.payments.domain import PaymentEvent


class SqsPaymentEvents:
    def __init__(self, client, queue_url: str):
        self._client = client
        self._queue_url = queue_url

    def publish(self, event: PaymentEvent) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=event.model_dump_json(),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": event.kind.value},
                "api_version": {"DataType": "String", "StringValue": event.api_version},
            },
        )
