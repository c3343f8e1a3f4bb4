"""DynamoDB Streams event source emulation: what Lambda's event source mapping does for a stream
trigger. moto keeps a table's stream (TransactWriteItems included: each Put of a transaction is
a record, in order; a cancelled transaction leaves none) but has no mapping that runs code
without Docker, so the local twin reads the stream itself, through the DynamoDB Streams API.
Each read takes a fresh iterator after the last sequence number read. The moto process makes
stream reads see only committed records (`moto_process.serialise_dynamodb`: moto writes a
transaction's records before it checks the conditions, then undoes a cancelled one by putting
back a copy of the table).

What is emulated, per shard (moto has one per table):

- Reading starts at TRIM_HORIZON; records are delivered in shard order,
  one batch at a time. A batch is up to `batch_size` records, gathered for up to the batching
  window (or whatever is there, if the window is 0).
- Partial batch responses (ReportBatchItemFailures, always on): `{"batchItemFailures":
  [{"itemIdentifier": "<SequenceNumber>"}]}` checkpoints every record before the lowest failed
  sequence number and retries the batch from that record. An empty or missing list is success;
  an identifier that is empty, missing or not in the batch fails the whole batch.
- A function error (it raised, timed out, or its instance died) with `bisect_batch_on_error`
  splits the batch in two halves, which are retried in order, first half first. As AWS documents
  for stream mappings, splitting does not consume the retry quota: a retry is counted when a
  batch is invoked again as it is (a one-record batch that errors, a batch without bisect, or
  the rest of a batch after a partial failure). Retries wait a short, growing backoff.
- A batch whose retries exceed `max_retry_attempts` (condition RetryAttemptsExhausted), or
  whose records exceed `max_record_age_seconds` (RecordAgeExceeded), is described on the
  on-failure SQS queue in Lambda's on-failure record shape (see events.stream_on_failure_record)
  and the shard moves on past it. A record's age is counted from when this poller read it:
  moto's creation stamps follow the host clock's time zone, and the poller reads a record
  within a fraction of a second of its write while it keeps up.
- Checkpoints live in memory, as moto keeps the stream itself: a restarted local stack is a
  new stack with empty tables.

Stopping: `stop()` is idempotent, never raises, and joins the thread for a bounded time. A batch
that is in flight when the stack stops ends without checkpointing (an invocation error while
stopping, such as the runtime's "Runtime.Stopped", is not a function error), as a Lambda
poller that loses its lease leaves the checkpoint where it was.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field

from infra.description.model import Function, StreamTrigger
from infra.local import events
from infra.local.runtime import FunctionRuntime, Invocation

STOPPED = "Runtime.Stopped"


@dataclass
class _Shard:
    id: str
    last_read: str | None = None  # the sequence number of the last record read into the buffer
    closed: bool = False
    # Read but not yet checkpointed, in order: (converted record, monotonic time read).
    buffer: list[tuple[dict, float]] = field(default_factory=list)
    checkpoint: str | None = None  # the last sequence number done with


@dataclass
class _Batch:
    size: int  # the first `size` records of the shard's buffer
    retries: int = 0
    invokes: int = 0


class StreamPoller:
    def __init__(self, dynamodb, streams, sqs, table_name: str, function: Function, trigger: StreamTrigger,
                 runtime: FunctionRuntime, on_failure_url: str, log=print,
                 idle_seconds: float = 0.2, join_seconds: float = 5.0):
        self.dynamodb = dynamodb
        self.streams = streams
        self.sqs = sqs
        self.table_name = table_name
        self.function = function
        self.trigger = trigger
        self.runtime = runtime
        self.on_failure_url = on_failure_url
        self.log = log
        self.idle_seconds = idle_seconds
        self.join_seconds = join_seconds
        self.stream_arn = ""  # read from the table when the poller starts
        self.shards: list[_Shard] = []
        self.batches = 0
        # When the newest read that found nothing new (with nothing left to deliver) began: every
        # record committed before that moment has been handed to the function and checkpointed.
        self.caught_up_at = float("-inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ddb-stream:{trigger.table}:{function.name}", daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Find the stream and its shards (each read from TRIM_HORIZON, so nothing written
        before or after this call is missed), then poll in the background."""
        self.stream_arn = self.dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        for shard in self._describe_shards():
            self.shards.append(_Shard(shard["ShardId"]))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            if self._thread.is_alive():
                self._thread.join(timeout=self.join_seconds)
        except Exception as error:  # noqa: BLE001 - stopping must never fail the stack's stop
            self.log({"stream_poller": self.trigger.table, "stop_error": repr(error)})

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = False
                for shard in list(self.shards):
                    busy |= self._poll(shard)
                if not busy:
                    self._stop.wait(self.idle_seconds)
            except Exception as error:  # noqa: BLE001 - a poller outlives any one failure
                self.log({"stream_poller": self.trigger.table, "function": self.function.name, "error": repr(error)})
                self._stop.wait(1)

    def _poll(self, shard: _Shard) -> bool:
        """Deliver one batch of `shard`, if it has one. True if there was anything to do."""
        self._gather(shard)
        if not shard.buffer:
            return False
        self._deliver(shard, _Batch(size=min(len(shard.buffer), self.trigger.batch_size)))
        return True

    def caught_up_since(self, moment: float) -> bool:
        """True once everything committed to the stream before `moment` (time.monotonic()) has
        been delivered: what tests and tools wait on instead of sleeping."""
        return self.caught_up_at > moment

    def _gather(self, shard: _Shard) -> None:
        deadline = time.monotonic() + self.trigger.max_batching_window_seconds
        while len(shard.buffer) < self.trigger.batch_size and not shard.closed and not self._stop.is_set():
            asked_at = time.monotonic()
            answer = self.streams.get_records(ShardIterator=self._iterator(shard), Limit=1000)
            shard.closed = answer.get("NextShardIterator") is None
            read_at = time.monotonic()
            shard.buffer += [(events.dynamodb_stream_record(r, self.stream_arn), read_at) for r in answer["Records"]]
            if answer["Records"]:
                shard.last_read = answer["Records"][-1]["dynamodb"]["SequenceNumber"]
            elif not shard.buffer:
                self.caught_up_at = asked_at
            if len(shard.buffer) >= self.trigger.batch_size or time.monotonic() >= deadline:
                return
            if not answer["Records"]:
                if not shard.buffer:
                    return  # idle: the caller waits
                self._stop.wait(min(self.idle_seconds, max(0.0, deadline - time.monotonic())))

    # -- one batch and its retries --------------------------------------------------------

    def _deliver(self, shard: _Shard, first: _Batch) -> None:
        pending = [first]  # batches still to resolve, in shard order; together a prefix of the buffer
        while pending and not self._stop.is_set():
            batch = pending[0]
            expired = self._expired_prefix(shard, batch.size)
            if expired:
                self._give_up(shard, expired, "RecordAgeExceeded", batch.invokes, None)
                batch.size -= expired
                if batch.size == 0:
                    pending.pop(0)
                continue
            if batch.invokes:
                self._stop.wait(min(1.0, 0.1 * 2 ** min(batch.retries, 4)))
                if self._stop.is_set():
                    return
            records = [record for record, _ in shard.buffer[: batch.size]]
            self.batches += 1
            batch.invokes += 1
            invocation = self.runtime.invoke(events.dynamodb_stream_event(records))
            if invocation.failed and (self._stop.is_set() or (invocation.error or {}).get("errorType") == STOPPED):
                self._stop.set()  # the stack is stopping: leave the checkpoint where it is
                return
            if invocation.failed:
                self.log({"stream_poller": self.trigger.table, "function": self.function.name,
                          "function_error": (invocation.error or {}).get("errorMessage"), "records": batch.size})
                if self.trigger.bisect_batch_on_error and batch.size > 1:
                    half = batch.size // 2
                    pending[0:1] = [_Batch(half, batch.retries), _Batch(batch.size - half, batch.retries)]
                    continue
                rest, error = batch.size, "Unhandled"
            else:
                failed_from = _failed_from(invocation, records)
                if failed_from is None:
                    self._checkpoint(shard, batch.size)
                    pending.pop(0)
                    continue
                self.log({"stream_poller": self.trigger.table, "function": self.function.name,
                          "failed_from": records[failed_from]["dynamodb"]["SequenceNumber"]})
                if failed_from:
                    # Done up to the failed record; the rest, invoked once so far, is retried.
                    self._checkpoint(shard, failed_from)
                    batch = pending[0] = _Batch(batch.size - failed_from, batch.retries, invokes=1)
                rest, error = batch.size, None
            if batch.retries >= self.trigger.max_retry_attempts:
                self._give_up(shard, rest, "RetryAttemptsExhausted", batch.invokes, error)
                pending.pop(0)
            else:
                batch.retries += 1

    def _expired_prefix(self, shard: _Shard, size: int) -> int:
        oldest_allowed = time.monotonic() - self.trigger.max_record_age_seconds
        count = 0
        for _, read_at in shard.buffer[:size]:
            if read_at >= oldest_allowed:
                break
            count += 1
        return count

    def _checkpoint(self, shard: _Shard, count: int) -> None:
        shard.checkpoint = shard.buffer[count - 1][0]["dynamodb"]["SequenceNumber"]
        del shard.buffer[:count]

    def _give_up(self, shard: _Shard, count: int, condition: str, invokes: int, error: str | None) -> None:
        """Describe the first `count` buffered records on the on-failure queue, then move past
        them. If the queue cannot be reached this raises, nothing is checkpointed, and the batch
        is delivered again (at least once, as Lambda)."""
        records = [record for record, _ in shard.buffer[:count]]
        description = events.stream_on_failure_record(
            records=records, shard_id=shard.id, stream_arn=self.stream_arn, function_name=self.function.name,
            condition=condition, invoke_count=invokes, function_error=error, request_id=str(uuid.uuid4()),
        )
        self.sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(description))
        self.log({"stream_poller": self.trigger.table, "function": self.function.name, "gave_up": condition,
                  "records": count, "queue": self.trigger.on_failure_queue})
        self._checkpoint(shard, count)

    # -- DynamoDB Streams API -------------------------------------------------------------

    def _describe_shards(self) -> list[dict]:
        shards, start = [], None
        while True:
            kwargs = {"StreamArn": self.stream_arn, **({"ExclusiveStartShardId": start} if start else {})}
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards += description["Shards"]
            start = description.get("LastEvaluatedShardId")
            if not start:
                return shards

    def _iterator(self, shard: _Shard) -> str:
        """A fresh iterator just past what was read (TRIM_HORIZON before anything was), rather
        than a kept NextShardIterator, so the position read from is always the one checkpointed."""
        if shard.last_read is None:
            where = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_read}
        return self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard.id, **where)["ShardIterator"]


def _failed_from(invocation: Invocation, records: list[dict]) -> int | None:
    """The index of the first record to retry from, or None if the whole batch succeeded."""
    payload = invocation.payload
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if not failures:
        return None
    positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in positions:
            return 0  # Lambda treats a malformed partial response as the whole batch failing
        found.append(positions[identifier])
    return min(found)
