"""StreamPoller's stopping rules, with stand-ins for the AWS clients and the runtime: an
invocation that ends because the runtime stopped (Runtime.Stopped) stops the poller without
checkpointing or describing anything as failed; stop() is idempotent and never raises, even
before start()."""

from __future__ import annotations

import datetime as dt
import time

from infra.description.model import Function, StreamTrigger
from infra.local.runtime import Invocation
from infra.local.streams import StreamPoller

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"


class _DynamoDB:
    def describe_table(self, TableName):
        return {"Table": {"LatestStreamArn": ARN}}


class _Streams:
    def __init__(self):
        self.records = [{
            "eventID": "e1", "eventName": "INSERT", "eventVersion": "1.0", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": dt.datetime.now(dt.UTC), "Keys": {"pk": {"S": "a"}},
                         "NewImage": {"pk": {"S": "a"}}, "SequenceNumber": "100", "SizeBytes": 10,
                         "StreamViewType": "NEW_IMAGE"},
        }]

    def describe_stream(self, StreamArn, **_):
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        return {"ShardIterator": f"{ShardIteratorType}:{SequenceNumber}"}

    def get_records(self, ShardIterator, Limit):
        after = ShardIterator.split(":")[1]
        fresh = [r for r in self.records if after == "None" or int(r["dynamodb"]["SequenceNumber"]) > int(after)]
        return {"Records": fresh, "NextShardIterator": "next"}


class _SQS:
    def __init__(self):
        self.sent = []

    def send_message(self, **kwargs):
        self.sent.append(kwargs)


class _StoppedRuntime:
    def __init__(self):
        self.invocations = 0

    def invoke(self, event):
        self.invocations += 1
        return Invocation(error={"errorType": "Runtime.Stopped", "errorMessage": "the runtime is stopping"})


def _poller(runtime, sqs):
    function = Function(name="probe-fn", handler="functions.ops.api.handler", description="probe")
    trigger = StreamTrigger(table="t", on_failure_queue="failed", max_retry_attempts=0)
    return StreamPoller(_DynamoDB(), _Streams(), sqs, "t", function, trigger, runtime, "https://sqs/failed",
                        log=lambda entry: None, idle_seconds=0.01)


def test_runtime_stopped_stops_the_poller_without_checkpointing_or_giving_up():
    runtime, sqs = _StoppedRuntime(), _SQS()
    poller = _poller(runtime, sqs)
    poller.start()
    deadline = time.monotonic() + 5
    while poller.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not poller.running
    assert runtime.invocations == 1
    assert poller.shards[0].checkpoint is None
    assert [r["dynamodb"]["SequenceNumber"] for r, _ in poller.shards[0].buffer] == ["100"]
    assert sqs.sent == []  # max_retry_attempts=0, yet nothing is described as failed
    poller.stop()
    poller.stop()


def test_stop_before_start_is_harmless():
    poller = _poller(_StoppedRuntime(), _SQS())
    poller.stop()
    poller.stop()
    assert not poller.running
