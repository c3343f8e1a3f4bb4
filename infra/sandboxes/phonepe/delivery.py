"""Webhook delivery over real HTTP, with the scenarios tests need: N concurrent copies, a delay,
dropped webhooks, and held webhooks released later in another order (out-of-order delivery).

PhonePe's retry policy is not published; the sandbox retries a failed delivery (connection
error or non-2xx) twice, 0.5 s apart, and records every attempt in a log tests can read."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

from infra.sandboxes.common import arrange
from infra.sandboxes.phonepe.state import SandboxState

DELIVERY_TIMEOUT_SECONDS = 5
RETRIES = 2
RETRY_BACKOFF_SECONDS = 0.5


@dataclass
class Webhook:
    url: str
    headers: dict[str, str]
    body: bytes
    label: str  # e.g. "v2 checkout.order.completed ord_123", for the log
    results: list[dict] = field(default_factory=list)


class Deliverer:
    """Sends webhooks one after another, in the order they happened (one sender thread), unless
    a scenario says otherwise."""

    def __init__(self, state: SandboxState):
        self.state = state
        self.log: list[Webhook] = []
        self.held: list[Webhook] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[Webhook | None] = queue.Queue()
        self._stopping = threading.Event()
        self._sender = threading.Thread(target=self._run, name="phonepe-webhooks", daemon=True)
        self._sender.start()

    def send(self, webhook: Webhook) -> None:
        with self._lock:
            self.log.append(webhook)
        if self._stopping.is_set():
            webhook.results.append({"outcome": "not sent: sandbox stopped"})
            return
        if self.state.take("drop_webhooks"):
            webhook.results.append({"outcome": "dropped"})
            return
        with self.state.lock:
            hold = self.state.scenarios.hold_webhooks
        if hold:
            webhook.results.append({"outcome": "held"})
            with self._lock:
                self.held.append(webhook)
            return
        self._queue.put(webhook)

    def release(self, order: str) -> int:
        """Sends the held webhooks (`reverse`: newest first)."""
        with self._lock:
            held, self.held = self.held, []
        held = arrange(held, order)
        for webhook in held:
            self._queue.put(webhook)
        return len(held)

    def wait_idle(self) -> None:
        self._queue.join()

    def stop(self, timeout: float = 10.0) -> None:
        """Idempotent. What is queued is not sent any more (it is logged as such); a delivery under
        way ends after its current attempt, without retrying; waits at most `timeout` seconds."""
        self._stopping.set()
        self._queue.put(None)
        if self._sender.is_alive():
            self._sender.join(timeout=timeout)

    # -- internals ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            webhook = self._queue.get()
            try:
                if webhook is None:
                    return
                if self._stopping.is_set():
                    webhook.results.append({"outcome": "not sent: sandbox stopped"})
                    continue
                with self.state.lock:
                    delay = self.state.scenarios.webhook_delay_seconds
                if delay and self._stopping.wait(delay):
                    webhook.results.append({"outcome": "not sent: sandbox stopped"})
                    continue
                self._deliver_copies(webhook)
            finally:
                self._queue.task_done()

    def _deliver_copies(self, webhook: Webhook) -> None:
        with self.state.lock:
            copies = self.state.scenarios.webhook_copies
        if copies == 1:
            self._deliver_one(webhook)
            return
        start = threading.Barrier(copies)  # all copies leave together: a real concurrent burst
        threads = [threading.Thread(target=self._deliver_one, args=(webhook, start), daemon=True) for _ in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _deliver_one(self, webhook: Webhook, start: threading.Barrier | None = None) -> None:
        if start is not None:
            start.wait()
        for attempt in range(1 + RETRIES):
            result: dict[str, Any]
            try:
                response = requests.post(webhook.url, data=webhook.body, headers=webhook.headers,
                                         timeout=DELIVERY_TIMEOUT_SECONDS)
                result = {"outcome": "delivered", "status": response.status_code, "attempt": attempt + 1}
            except requests.RequestException as error:
                result = {"outcome": "error", "error": type(error).__name__, "attempt": attempt + 1}
            with self._lock:
                webhook.results.append(result)
            if result.get("status", 0) // 100 == 2:
                return
            if self._stopping.wait(RETRY_BACKOFF_SECONDS):
                return  # stopping: no more retries

    def describe(self) -> list[dict]:
        with self._lock:
            return [
                {"label": w.label, "url": w.url, "results": list(w.results)} for w in self.log
            ]
