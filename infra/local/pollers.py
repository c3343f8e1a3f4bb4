"""SQS event source emulation: what Lambda's event source mapping does for a queue trigger.

Long-polls the queue, gathers up to `batch_size` messages within the batching window, invokes the
consumer, then deletes what succeeded. With ReportBatchItemFailures (always on in Bazaar), the
ids the function lists stay on the queue; a function error leaves the whole batch. Whatever stays
comes back after the visibility timeout, and SQS itself moves it to the DLQ after max receives."""

from __future__ import annotations

import threading
import time

from infra.description.model import Function, QueueTrigger
from infra.local import events
from infra.local.runtime import STOPPED, FunctionRuntime


class QueuePoller:
    def __init__(self, sqs, queue_url: str, queue_arn: str, function: Function, trigger: QueueTrigger,
                 runtime: FunctionRuntime, log=print, wait_seconds: int = 1):
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function = function
        self.trigger = trigger
        self.runtime = runtime
        self.log = log
        self.wait_seconds = wait_seconds
        self.batches = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs:{trigger.queue}", daemon=True)

    def start(self) -> None:
        if not self._stop.is_set():
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Idempotent, never raises. Waits (bounded: a long poll plus a few seconds, by default)
        for the batch in hand; what it does not finish stays on the queue for redelivery."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.wait_seconds + 5 if timeout is None else timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._gather()
                if messages:
                    self._deliver(messages)
            except Exception as error:  # noqa: BLE001 - a poller outlives any one failure
                if self._stop.is_set():
                    return  # moto or the runtime went away under a stopping stack: not news
                self.log({"poller": self.trigger.queue, "error": repr(error)})
                self._stop.wait(1)

    def _gather(self) -> list[dict]:
        messages: list[dict] = []
        deadline = time.monotonic() + self.trigger.max_batching_window_seconds
        while len(messages) < self.trigger.batch_size and not self._stop.is_set():
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.trigger.batch_size - len(messages),
                WaitTimeSeconds=self.wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            if (not received and messages) or (time.monotonic() >= deadline and messages):
                break
            if not received and not messages:
                return []
        return messages

    def _deliver(self, messages: list[dict]) -> None:
        self.batches += 1
        invocation = self.runtime.invoke(events.sqs_event(messages, self.queue_arn))
        if invocation.failed and (invocation.error or {}).get("errorType") == STOPPED["errorType"]:
            return  # the stack is stopping: the batch stays on the queue, to come back later
        if invocation.failed:
            self.log({"poller": self.trigger.queue, "function_error": (invocation.error or {}).get("errorMessage"),
                      "messages": len(messages)})
            return
        failed = {f.get("itemIdentifier") for f in (invocation.payload or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if failed:
            self.log({"poller": self.trigger.queue, "failed_records": sorted(failed)})
