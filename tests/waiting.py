"""Waiting on observable state, never on the clock: what e2e tests use instead of sleeps."""

from __future__ import annotations

import threading
import time


def until(check, seconds: float = 60.0, every: float = 0.2):
    """The first truthy value of `check()` within `seconds`; fails the test if none comes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"the expected state never came within {seconds} s")


def queues_drained(stack, *queues: str) -> bool:
    """True when none of the queues holds a message, visible or in flight: every message sent so
    far has been handled (or has gone to its DLQ)."""
    sqs = stack.client("sqs")
    for queue in queues:
        counts = sqs.get_queue_attributes(
            QueueUrl=stack.names.queue_url(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if any(int(v) for v in counts.values()):
            return False
    return True


def a_poll_began(stack, queue: str, seconds: float = 30) -> None:
    """Returns once the queue's poller has begun a ReceiveMessage after this call. A long poll
    already waiting keeps the attributes it began with (the old visibility timeout); every poll
    begun later sees the queue as it is now. Seen on the poller's own client, not waited out."""
    url = stack.names.queue_url(queue)
    began = threading.Event()

    def on_receive(params, **_):
        if params.get("QueueUrl") == url:
            began.set()

    clients = list({id(p.sqs): p.sqs for p in stack.pollers if p.queue_url == url}.values())
    assert clients, f"nothing polls {queue}"
    for client in clients:
        client.meta.events.register("provide-client-params.sqs.ReceiveMessage", on_receive)
    try:
        assert began.wait(seconds), f"the {queue} poller began no receive within {seconds} s"
    finally:
        for client in clients:
            client.meta.events.unregister("provide-client-params.sqs.ReceiveMessage", on_receive)
