"""The local twin's DynamoDB stream mappings, through the real protocols: items written with
boto3 to moto, the real StreamPoller reading moto's stream and invoking the fixture handlers
(tests/fixtures/stream_functions.py) in worker processes, which record every event they are
handed into the stream-log table, read back here with boto3."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.stream_service import ON_FAILURE

pytestmark = pytest.mark.slow


def _wait_for(predicate, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def _log(stack, function: str, kind: str = "event") -> list[dict]:
    items = stack.client("dynamodb").query(
        TableName=stack.names.table_name("stream-log"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{function}#{kind}"}},
        ConsistentRead=True,
    )["Items"]
    return [json.loads(item["body"]["S"]) for item in sorted(items, key=lambda i: i["sk"]["S"])]


def _batches(stack, function: str, prefix: str) -> list[list[str]]:
    """The keys of each batch the function was handed, of records whose key starts with prefix."""
    batches = []
    for event in _log(stack, function):
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        if any(k.startswith(prefix) for k in keys):
            batches.append(keys)
    return batches


def _put(stack, table: str, key: str, **attributes) -> dict:
    item = {"pk": {"S": key}, "sk": {"S": "v1"}, **attributes}
    return {"Put": {"TableName": stack.names.table_name(table), "Item": item}}


def _on_failure(stack, stream_arn: str, seconds: float = 20) -> list[dict]:
    """On-failure records about `stream_arn`, waited for; read and deleted from the queue."""
    sqs, url = stack.client("sqs"), stack.names.queue_url(ON_FAILURE)
    found: list[dict] = []
    deadline = time.monotonic() + seconds
    while not found and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(message["Body"])
            if body["DDBStreamBatchInfo"]["streamArn"] == stream_arn:
                found.append(body)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _poller(stack, function: str):
    return next(p for p in stack.stream_pollers if p.function.name == function)


def test_a_two_put_transaction_arrives_as_two_records_in_order_in_lambdas_event_shape(stream_stack):
    stack, run = stream_stack, uuid.uuid4().hex[:8]
    dynamodb, table = stack.client("dynamodb"), stack.names.table_name("stream-shape")
    first, second = f"shape-{run}-order", f"shape-{run}-event"
    dynamodb.transact_write_items(TransactItems=[
        _put(stack, "stream-shape", first, state={"S": "PAID"}),
        _put(stack, "stream-shape", second, type={"S": "OrderPaid"}, amount={"N": "499"}),
    ])
    dynamodb.put_item(TableName=table, Item={"pk": {"S": first}, "sk": {"S": "v1"}, "state": {"S": "SHIPPED"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": second}, "sk": {"S": "v1"}})

    def records():
        seen = [r for e in _log(stack, "streams-shape") for r in e["Records"]
                if r["dynamodb"]["Keys"]["pk"]["S"].startswith(f"shape-{run}")]
        return seen if len(seen) >= 4 else None

    seen = _wait_for(records)
    assert seen, "the handler never got the four records"
    stream_arn = _poller(stack, "streams-shape").stream_arn
    assert stream_arn == dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in seen] == [
        ("INSERT", first), ("INSERT", second), ("MODIFY", first), ("REMOVE", second),
    ]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in seen]
    assert sequence == sorted(sequence) and len(set(sequence)) == 4
    for record in seen:
        assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                               "eventSourceARN"}
        assert (record["eventVersion"], record["eventSource"], record["awsRegion"], record["eventSourceARN"]) == (
            "1.1", "aws:dynamodb", "us-east-1", stream_arn)
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
        assert abs(record["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 120
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    insert, event, modify, remove = (r["dynamodb"] for r in seen)
    assert insert["Keys"] == {"pk": {"S": first}, "sk": {"S": "v1"}}
    assert set(insert) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                           "StreamViewType"}
    assert insert["NewImage"] == {"pk": {"S": first}, "sk": {"S": "v1"}, "state": {"S": "PAID"}}
    assert event["NewImage"] == {"pk": {"S": second}, "sk": {"S": "v1"}, "type": {"S": "OrderPaid"},
                                 "amount": {"N": "499"}}
    assert (modify["OldImage"]["state"], modify["NewImage"]["state"]) == ({"S": "PAID"}, {"S": "SHIPPED"})
    assert "NewImage" not in remove and remove["OldImage"]["type"] == {"S": "OrderPaid"}


def test_a_cancelled_transaction_leaves_nothing_to_deliver(stream_stack):
    stack, run = stream_stack, uuid.uuid4().hex[:8]
    dynamodb, table = stack.client("dynamodb"), stack.names.table_name("stream-shape")
    held = f"cancel-{run}-held"
    dynamodb.put_item(TableName=table, Item={"pk": {"S": held}, "sk": {"S": "v1"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(TransactItems=[
            _put(stack, "stream-shape", f"cancel-{run}-never"),
            {"Put": {**_put(stack, "stream-shape", held)["Put"], "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    after = f"cancel-{run}-after"
    dynamodb.put_item(TableName=table, Item={"pk": {"S": after}, "sk": {"S": "v1"}})

    def keys():
        seen = [k for batch in _batches(stack, "streams-shape", f"cancel-{run}") for k in batch
                if k.startswith(f"cancel-{run}")]
        return seen if after in seen else None

    assert _wait_for(keys) == [held, after]  # in shard order: nothing of the cancelled transaction between


def test_a_partial_batch_failure_redelivers_from_the_failed_record_only(stream_stack):
    stack, run = stream_stack, uuid.uuid4().hex[:8]
    a, b, c = (f"partial-{run}-{x}" for x in "abc")
    stack.client("dynamodb").transact_write_items(TransactItems=[
        _put(stack, "stream-partial", a),
        _put(stack, "stream-partial", b, fail_times={"N": "1"}),
        _put(stack, "stream-partial", c),
    ])
    batches = _wait_for(lambda: (found := _batches(stack, "streams-partial", f"partial-{run}")) and len(found) >= 2
                        and found)
    assert batches == [[a, b, c], [b, c]]
    poller = _poller(stack, "streams-partial")
    assert _wait_for(lambda: not poller.shards[0].buffer)
    assert poller.shards[0].checkpoint is not None
    assert _on_failure(stack, poller.stream_arn, seconds=1) == []


def test_a_poison_record_is_isolated_by_bisection_and_described_on_the_failure_queue(stream_stack):
    stack, run = stream_stack, uuid.uuid4().hex[:8]
    p1, p2, poison, p4 = (f"poison-{run}-{x}" for x in ("1", "2", "x", "4"))
    stack.client("dynamodb").transact_write_items(TransactItems=[
        _put(stack, "stream-poison", p1),
        _put(stack, "stream-poison", p2),
        _put(stack, "stream-poison", poison, poison={"BOOL": True}),
        _put(stack, "stream-poison", p4),
    ])
    poller = _poller(stack, "streams-poison")
    failures = _on_failure(stack, poller.stream_arn)
    batches = _wait_for(lambda: (found := _batches(stack, "streams-poison", f"poison-{run}")) and found[-1] == [p4]
                        and found)
    # Halves on each function error; splitting does not consume the one retry (max_retry_attempts=1),
    # so the poison record alone is invoked twice before it is given up on, then the shard moves on.
    assert batches == [[p1, p2, poison, p4], [p1, p2], [poison, p4], [poison], [poison], [p4]]
    poison_record = next(r for e in _log(stack, "streams-poison") for r in e["Records"]
                         if r["dynamodb"]["Keys"]["pk"]["S"] == poison)
    assert len(failures) == 1
    failure = failures[0]
    assert set(failure) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    assert failure["version"] == "1.0"
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["requestContext"]["functionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:streams-poison"
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    info = failure["DDBStreamBatchInfo"]
    sequence = poison_record["dynamodb"]["SequenceNumber"]
    assert {k: info[k] for k in ("shardId", "startSequenceNumber", "endSequenceNumber", "batchSize", "streamArn")} == {
        "shardId": poller.shards[0].id, "startSequenceNumber": sequence, "endSequenceNumber": sequence,
        "batchSize": 1, "streamArn": poller.stream_arn,
    }
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")


def test_the_dispatcher_routes_outbox_events_to_their_consumers_queue(stream_stack):
    stack, run = stream_stack, uuid.uuid4().hex[:8]
    stack.client("dynamodb").transact_write_items(TransactItems=[
        _put(stack, "stream-outbox", f"outbox-{run}-1", type={"S": "ThingHappened"}),
        _put(stack, "stream-outbox", f"outbox-{run}-2", type={"S": "NobodyListens"}),
        _put(stack, "stream-outbox", f"outbox-{run}-3", type={"S": "ThingUndone"}),
    ])

    def consumed():
        bodies = [json.loads(r["body"]) for e in _log(stack, "streams-consumer") for r in e["Records"]]
        mine = sorted((b["key"], b["type"]) for b in bodies if b["key"].startswith(f"outbox-{run}"))
        return mine if len(mine) >= 2 else None

    assert _wait_for(consumed) == [(f"outbox-{run}-1", "ThingHappened"), (f"outbox-{run}-3", "ThingUndone")]


def test_stopping_while_a_batch_is_in_flight_is_clean_and_does_not_checkpoint(stream_stack):
    stack = stream_stack
    poller = _poller(stack, "streams-slow")
    key = "sleep-4"
    stack.client("dynamodb").put_item(TableName=stack.names.table_name("stream-slow"),
                                      Item={"pk": {"S": key}, "sk": {"S": "v1"}})
    assert _wait_for(lambda: any(e["key"] == key for e in _log(stack, "streams-slow", "started")))

    poller.join_seconds = 0.5
    started = time.monotonic()
    poller.stop()  # the handler is still asleep: a bounded join, no exception
    assert time.monotonic() - started < 2
    assert poller.running
    # As the stack does next once its drain time is up: the in-flight invocation is cut short.
    stack.runtimes["streams-slow"].stop(timeout=0)
    assert _wait_for(lambda: not poller.running, seconds=10)
    poller.stop()  # again: idempotent

    assert poller.shards[0].checkpoint is None
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r, _ in poller.shards[0].buffer] == [key]
    assert _on_failure(stack, poller.stream_arn, seconds=1) == []


def test_writes_between_many_cancelled_transactions_all_arrive_and_no_cancelled_record_does(stream_stack):
    """moto numbers the write after a cancelled transaction with the cancelled record's sequence
    number; a stream read racing the cancellation once made the poller skip that write."""
    stack, run = stream_stack, uuid.uuid4().hex[:8]
    dynamodb, table = stack.client("dynamodb"), stack.names.table_name("stream-shape")
    held = f"race-{run}-held"
    dynamodb.put_item(TableName=table, Item={"pk": {"S": held}, "sk": {"S": "v1"}})
    written = [held]
    for attempt in range(150):
        with pytest.raises(ClientError, match="TransactionCanceled"):
            dynamodb.transact_write_items(TransactItems=[
                _put(stack, "stream-shape", f"race-{run}-never-{attempt}"),
                {"Put": {**_put(stack, "stream-shape", held)["Put"], "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        written.append(f"race-{run}-after-{attempt}")
        dynamodb.put_item(TableName=table, Item={"pk": {"S": written[-1]}, "sk": {"S": "v1"}})

    def keys():
        seen = [k for batch in _batches(stack, "streams-shape", f"race-{run}") for k in batch
                if k.startswith(f"race-{run}")]
        return seen if written[-1] in seen else None

    assert _wait_for(keys) == written
