"""One SQS queue per `SERVICE.queues`, each with its own dead-letter queue `<name>-dlq`."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Tags
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cloud import tags
from infra.description.model import Queue, Service


@dataclass(frozen=True)
class QueuePair:
    queue: sqs.Queue
    dlq: sqs.Queue


def _queue(scope: Construct, queue: Queue) -> QueuePair:
    dlq = sqs.Queue(
        scope,
        f"Queue-{queue.dlq_name}",
        retention_period=Duration.seconds(queue.dlq_retention_seconds),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
    )
    Tags.of(dlq).add(tags.QUEUE, queue.dlq_name)
    main = sqs.Queue(
        scope,
        f"Queue-{queue.name}",
        visibility_timeout=Duration.seconds(queue.visibility_timeout_seconds),
        retention_period=Duration.seconds(queue.retention_seconds),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=queue.max_receive_count),
    )
    Tags.of(main).add(tags.QUEUE, queue.name)
    return QueuePair(queue=main, dlq=dlq)


def build_queues(scope: Construct, service: Service) -> dict[str, QueuePair]:
    pairs = {queue.name: _queue(scope, queue) for queue in service.queues}
    _refuse_plain_http(scope, [q for pair in pairs.values() for q in (pair.queue, pair.dlq)])
    return pairs


def _refuse_plain_http(scope: Construct, queues: list[sqs.Queue]) -> None:
    """Every queue refuses requests that are not over TLS, in one policy for them all (what each
    queue's `enforce_ssl` would write, without a policy resource per queue: a stack holds at
    most 500 resources)."""
    sqs.CfnQueuePolicy(
        scope, "QueuesRefusePlainHttp",
        queues=[q.queue_url for q in queues],
        policy_document={
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "RefusePlainHttp", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sqs:*",
                "Resource": [q.queue_arn for q in queues],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }],
        },
    )
