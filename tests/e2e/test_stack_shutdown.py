"""Stopping a whole local stack while it is busy: a fast clock fires schedules on their own and
clients keep calling the gateway (a function route and a schedule run) while stop() runs. It
must never raise, and no function instance may outlive it. (The runtime-level version, with
many more cycles, is tests/integration/test_runtime_shutdown.py.)"""

from __future__ import annotations

import json
import multiprocessing
import socket
import threading
import time

import pytest
import requests

from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import login

CYCLES = 2  # each is a whole stack (~15 s on 2 busy cores); the 50 cycles run at runtime level


def _workers_alive(besides: frozenset = frozenset()) -> list[str]:
    """Live function instances in this process, other than `besides` (the instances of stacks
    other tests keep running, such as the session's)."""
    return [p.name for p in multiprocessing.active_children() if p.name.startswith("lambda:") and p not in besides]


def _others() -> frozenset:
    return frozenset(multiprocessing.active_children())


def _wait_until(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


def _stop_while_busy(state_dir, answered: list[int], unexpected: list[BaseException]) -> None:
    # One instance per function: the fast clock still keeps every scheduled function busy, without
    # a storm of cold starts on a small machine.
    others = _others()
    stack = LocalStack(LocalConfig.for_tests(state_dir, clock_speed=300, max_concurrency=1, seed_accounts=False))
    stack.start()
    url, scheduler = stack.url, stack.scheduler
    stopping = threading.Event()

    def call(method: str, path: str) -> None:
        with requests.Session() as session:
            while not stopping.is_set():
                try:
                    status = session.request(method, f"{url}{path}", timeout=30).status_code
                except requests.ConnectionError:
                    return  # the listener is closed: the stop has begun
                except BaseException as error:  # noqa: BLE001 - the assertion below reports it
                    unexpected.append(error)
                    return
                answered.append(status)
                if status == 503:
                    return  # the gateway refuses new calls: the stop has begun

    clients = [threading.Thread(target=call, args=("GET", "/health")) for _ in range(3)]
    clients.append(threading.Thread(target=call, args=("POST", "/_local/schedules/heartbeat/run")))
    for client in clients:
        client.start()
    before = len(answered)
    # Busy: clients are being answered (more calls follow at once) and the clock fires on its own.
    assert _wait_until(lambda: len(answered) >= before + 2)
    assert _wait_until(lambda: any(s.runs for s in scheduler.states.values()))
    try:
        stack.stop()  # raises if any part of the stop failed
        stack.stop()  # and is idempotent
    finally:
        stopping.set()
        for client in clients:
            client.join(40)
    assert not any(c.is_alive() for c in clients)
    assert unexpected == []
    assert _wait_until(lambda: not _workers_alive(others), seconds=10), _workers_alive(others)


def test_a_busy_stack_stops_cleanly_again_and_again(tmp_path):
    answered: list[int] = []
    unexpected: list[BaseException] = []
    started = time.monotonic()
    for cycle in range(CYCLES):
        _stop_while_busy(tmp_path / str(cycle), answered, unexpected)
        print(f"cycle {cycle}: {time.monotonic() - started:.1f} s", flush=True)  # noqa: T201 - figures a person reads with -s
    assert 200 in answered
    # 5xx: the gateway's own answer for a call the stop cut short (Runtime.Stopped), or 503 from
    # the /_local/ controls once the scheduler is gone.
    assert set(answered) <= {200, 500, 503}, set(answered)
    print(f"{CYCLES} busy stacks stopped in {time.monotonic() - started:.1f} s; {len(answered)} calls answered")  # noqa: T201 - figures a person reads with -s


def test_a_start_that_fails_halfway_cleans_up_and_stop_stays_safe(tmp_path):
    """The gateway's port is taken: moto, the sandboxes, the runtimes, the pollers and the
    scheduler are up when start() fails; it stops them, and stop() after that changes nothing."""
    others = _others()
    config = LocalConfig.for_tests(tmp_path, clock_speed=300, seed_accounts=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", config.api_port))
        taken.listen()
        stack = LocalStack(config)
        with pytest.raises(OSError):
            stack.start()
        stack.stop()
        stack.stop()
    assert stack.pollers == [] and stack.scheduler is None and stack.runtimes == {} and stack.sandboxes == []
    assert _wait_until(lambda: not _workers_alive(others), seconds=10), _workers_alive(others)
    for port in (config.phonepe_port, config.shiprocket_port, config.razorpayx_port):  # the sandboxes let go of theirs
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a listener still fails this
            again.bind(("127.0.0.1", port))


def test_health_answers_only_once_this_starts_accounts_are_written(tmp_path):
    # A previous run's file: a script that waits for /health and then logs in must never read it.
    stale = {"admin": {"email": "admin@bazaar.local", "password": "from-the-last-run"}}
    (tmp_path / "local-accounts.json").write_text(json.dumps(stale))
    stack = LocalStack(LocalConfig.for_tests(tmp_path))
    base = f"http://127.0.0.1:{stack.config.api_port}"
    starting = threading.Thread(target=stack.start, daemon=True)
    starting.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.001)  # as soon as it listens: the race is short
        else:
            pytest.fail("the stack never became healthy")
        accounts = json.loads((tmp_path / "local-accounts.json").read_text())
        assert accounts["admin"]["password"] != "from-the-last-run"
        # The admin signs in with the password and this run's authenticator secret, as a script would.
        assert "access_token" in login(base, **accounts["admin"])
    finally:
        starting.join(timeout=120)
        stack.stop()
