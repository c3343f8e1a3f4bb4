"""A local Lambda runtime: each function runs in its own worker processes, with the environment
the description gives it, so one function's settings, imports and cold start never leak into
another's (as on Lambda). A pool grows on demand up to a concurrency limit; an invocation that
outlives the function's timeout kills its worker, as Lambda does.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from infra.description.model import Function

ROOT = Path(__file__).resolve().parents[2]
_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Invocation:
    """What Lambda's Invoke API answers: a payload, or an error in the runtime's shape."""

    payload: Any = None
    error: dict | None = None
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


class LocalContext:
    """The parts of Lambda's context object that handlers and powertools read."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: int, region: str):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class _Spec:
    """The picklable part of a Function that a worker process needs."""

    name: str
    module: str
    attribute: str
    memory_mb: int
    timeout_seconds: int


def _worker_main(conn: Connection, function: _Spec, environment: dict[str, str]) -> None:
    # Ctrl-C reaches the whole process group; the stack, not each instance, decides to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(environment)
    for path in (str(ROOT / "shared"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        module = importlib.import_module(function.module)
        entry = getattr(module, function.attribute)
        conn.send(("ready", None))
    except BaseException:  # noqa: BLE001 - an init failure is reported, as Lambda reports it
        conn.send(("init_error", _error_payload("Runtime.ImportModuleError")))
        return
    region = environment.get("AWS_REGION", "us-east-1")
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        kind, body = message
        if kind == "stop":
            return
        if kind == "openapi":
            app = getattr(module, "app", None)
            conn.send(("ok", app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True) if app else None))
            continue
        context = LocalContext(function.name, function.memory_mb, function.timeout_seconds, region)
        try:
            conn.send(("ok", entry(body, context)))
        except BaseException:  # noqa: BLE001
            conn.send(("error", _error_payload()))


def _error_payload(error_type: str | None = None) -> dict:
    kind, value, _ = sys.exc_info()
    return {
        "errorType": error_type or (kind.__name__ if kind else "Error"),
        "errorMessage": str(value),
        "stackTrace": traceback.format_exc().splitlines(),
    }


STOPPED = {"errorType": "Runtime.Stopped", "errorMessage": "runtime stopped"}


class RuntimeStopped(RuntimeError):
    """The runtime was stopped: it starts no instance and takes no invocation."""


class _Worker:
    """One instance: a process and the parent's end of its pipe, which the worker owns. The thread
    that holds a worker (from _acquire) is the only one that sends and receives on the pipe;
    kill() closes it once, under the worker's lock, whichever thread gets there first."""

    def __init__(self, function: Function, environment: dict[str, str]):
        self._lock = threading.Lock()
        self._closed = False
        self.conn, child = _SPAWN.Pipe()
        self.process = _SPAWN.Process(
            target=_worker_main,
            args=(
                child,
                _Spec(function.name, function.module, function.attribute, function.memory_mb, function.timeout_seconds),
                environment,
            ),
            name=f"lambda:{function.name}",
            daemon=True,
        )
        try:
            self.process.start()
        finally:
            child.close()
        self.cold = True

    def terminate(self) -> None:
        """Ends the process but leaves the pipe open: safe while another thread is blocked on
        it, which then reads EOF (instead of a closed, possibly reused, file descriptor)."""
        with self._lock:
            if self._closed:
                return
            self.process.kill()
            self.process.join(timeout=5)

    def kill(self) -> None:
        """Ends the process and closes the pipe; idempotent and thread-safe. Only the thread
        holding the worker, or anyone once nobody holds it, may call it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.process.kill()
            self.process.join(timeout=5)
            self.conn.close()
            if self.process.exitcode is not None:
                self.process.close()  # its sentinel fd, now rather than at garbage collection


class FunctionRuntime:
    """The instances of one function. Thread-safe: the gateway, pollers and scheduler share it.

    stop() refuses new invocations at once (they answer Runtime.Stopped), waits a bounded time
    for those in flight, then ends every instance; an invocation still running then answers
    Runtime.Stopped too."""

    def __init__(self, function: Function, environment: dict[str, str], max_concurrency: int = 4):
        self.function = function
        self.environment = dict(environment)
        # The function's own cap (Lambda reserved concurrency) where it declares one, within the
        # machine's: an invocation beyond it waits for an instance to be free.
        self.reserved_concurrency = function.reserved_concurrency
        self.max_concurrency = min(max_concurrency, self.reserved_concurrency or max_concurrency)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._lock = threading.Condition()
        self._stopped = False
        self._in_flight = 0
        self.invocations = 0
        self.cold_starts = 0

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def invoke(self, event: Any) -> Invocation:
        started = time.perf_counter()
        with self._lock:
            if self._stopped:
                return Invocation(error=dict(STOPPED))
            self._in_flight += 1
        try:
            return self._invoke(event, started)
        finally:
            self._done()

    def _invoke(self, event: Any, started: float) -> Invocation:
        try:
            worker = self._acquire()
        except RuntimeStopped:
            return Invocation(error=dict(STOPPED), duration_ms=_ms(started))
        try:
            if worker.cold:
                kind, body = self._receive(worker, self.function.timeout_seconds + 30)
                if kind != "ready":
                    self._discard(worker)
                    return Invocation(error=body or _timeout_error(self.function), duration_ms=_ms(started))
                worker.cold = False
            worker.conn.send(("invoke", event))
            kind, body = self._receive(worker, self.function.timeout_seconds)
        except (EOFError, OSError):
            worker.process.join(timeout=5)
            status = worker.process.exitcode
            self._discard(worker)
            if self._stopped:
                return Invocation(error=dict(STOPPED), duration_ms=_ms(started))
            # What Lambda reports for an instance that died mid-invocation (a crash point, OOM, kill).
            return Invocation(error={"errorType": "Runtime.ExitError",
                                     "errorMessage": f"Runtime exited with error: exit status {status}"},
                              duration_ms=_ms(started))
        if kind is None:
            self._discard(worker)  # timed out: Lambda freezes and discards the instance
            return Invocation(error=_timeout_error(self.function), duration_ms=_ms(started))
        self._release(worker)
        with self._lock:
            self.invocations += 1
        if kind == "ok":
            return Invocation(payload=body, duration_ms=_ms(started))
        return Invocation(error=body, duration_ms=_ms(started))

    def openapi(self) -> dict | None:
        with self._lock:
            if self._stopped:
                raise RuntimeStopped(f"{self.function.name}: runtime stopped")
            self._in_flight += 1
        try:
            worker = self._acquire()
            try:
                if worker.cold:
                    kind, body = self._receive(worker, 60)
                    if kind != "ready":
                        self._discard(worker)
                        raise RuntimeError(f"{self.function.name} failed to start: {body}")
                    worker.cold = False
                worker.conn.send(("openapi", None))
                kind, body = self._receive(worker, 60)
            except (EOFError, OSError) as error:
                self._discard(worker)
                if self._stopped:
                    raise RuntimeStopped(f"{self.function.name}: runtime stopped") from error
                raise
            except BaseException:
                self._discard(worker)
                raise
            self._release(worker)
            return body
        finally:
            self._done()

    def wait_idle(self, timeout: float) -> bool:
        """Waits (at most `timeout` seconds) until no invocation is in flight; True if none is."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def stop(self, timeout: float = 5.0) -> None:
        """Idempotent. Refuses new work, gives in-flight invocations `timeout` seconds, then ends
        every instance. Workers held by an invocation are only terminated here (their holder
        reads EOF and closes them); idle ones are closed here."""
        with self._lock:
            self._stopped = True
            self._lock.notify_all()  # wakes _acquire waiters: they give up
        self.wait_idle(timeout)
        with self._lock:
            idle, self._idle = self._idle, []
            busy = [w for w in self._all if w not in idle]
            self._all.difference_update(idle)
        for worker in idle:
            worker.kill()
        for worker in busy:
            worker.terminate()
        self.wait_idle(timeout)

    # -- pool -----------------------------------------------------------------------------

    def _acquire(self) -> _Worker:
        with self._lock:
            while True:
                if self._stopped:
                    raise RuntimeStopped(f"{self.function.name}: runtime stopped")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.max_concurrency:
                    worker = _Worker(self.function, self.environment)
                    self._all.add(worker)
                    self.cold_starts += 1
                    return worker
                self._lock.wait()

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            keep = not self._stopped and worker in self._all
            if keep:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
            self._lock.notify_all()
        if not keep:
            worker.kill()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            self._lock.notify_all()

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    @staticmethod
    def _receive(worker: _Worker, timeout: float) -> tuple[str | None, Any]:
        if not worker.conn.poll(timeout):
            return None, None
        return worker.conn.recv()


def _timeout_error(function: Function) -> dict:
    return {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {function.timeout_seconds}.00 seconds"}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
