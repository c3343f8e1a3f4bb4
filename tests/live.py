"""A dashboard's WebSocket to the local stack's realtime API, read as a browser reads it: every
frame collected as it arrives (on a thread of its own), so a test can act over HTTP and then ask
what the socket saw."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


class LiveSocket:
    def __init__(self, stack, token: str, api: str = "realtime"):
        self._exits = contextlib.ExitStack()
        self.socket: ClientConnection = self._exits.enter_context(
            connect(f"{stack.websocket_url(api)}?access_token={token}", open_timeout=30))
        self.frames: list[dict] = []
        self.arrived_at: list[float] = []  # time.time() of each frame, beside it
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="live-socket", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for message in self.socket:
                arrived = time.time()
                with self._changed:
                    self.frames.append(json.loads(message))
                    self.arrived_at.append(arrived)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        with self._changed:
            self._changed.notify_all()

    def send(self, frame: dict | str) -> None:
        self.socket.send(frame if isinstance(frame, str) else json.dumps(frame))

    def wait_for(self, found: Callable[[list[dict]], object], seconds: float = 90) -> object:
        """The first truthy `found(frames so far)` within `seconds`, else an AssertionError that shows
        what did arrive."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not (result := found(list(self.frames))):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"never arrived; the socket saw {self.frames}")
                self._changed.wait(min(left, 0.5))
        return result

    def order_frames(self, order_id: str) -> list[dict]:
        return [f for f in self.frames if f.get("type") == "order.updated" and f.get("order_id") == order_id]

    def close(self) -> None:
        self._exits.close()
        self._reader.join(timeout=10)

    @property
    def close_code(self) -> int | None:
        self._reader.join(timeout=10)
        return self.socket.close_code

    def __enter__(self) -> LiveSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
