"""moto's server in a process of its own, one per local stack.

moto keeps its state per process, so two stacks in one process (a test's and the session's)
would share tables and queues; a process each keeps them apart, and its memory (moto's grows
with use: docs/local-twin.md, 'Server and endpoints') goes back when the stack stops.

    python -m infra.local.moto_process --port 5100
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

_dynamodb_lock = threading.RLock()


def serialise_dynamodb() -> None:
    """moto deep-copies a whole table per transaction with no lock; concurrent transactions then
    fail with 500s or, rarely, half-apply (measured: docs/local-twin.md, 'DynamoDB'). DynamoDB itself
    serialises conflicting writes, so one lock around moto's DynamoDB handler changes nothing a client can
    observe except that moto stops breaking atomicity."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self, *args, **kwargs):
        with _dynamodb_lock:
            return original(self, *args, **kwargs)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]  # the deliberate patch above


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    os.environ["MOTO_PORT"] = str(port)  # moto's Step Functions integrations call back on it
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call is noise
    serialise_dynamodb()

    from moto.server import ThreadedMotoServer

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    # Its default address is 0.0.0.0: never on a shared machine.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stopping.wait()
    server.stop()


if __name__ == "__main__":
    main()
