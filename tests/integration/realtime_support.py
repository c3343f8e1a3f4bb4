"""What the realtime integration tests share: the realtime tables created in a moto server of
the test's own (as the local twin creates tables), and API Gateway's `@connections` endpoint in
miniature on 127.0.0.1, which keeps what each connection was sent and answers 410 for gone
connections and 429 for throttled ones."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

from infra.description.model import Index, Key, Table
from infra.local.aws import LocalNames, MotoServer, create_table
from infra.local.loopback import LoopbackServer
from infra.local.stack import free_port

# The tables as infra/description/contexts/realtime.py declares them (a unit test keeps the two
# equal once that module loads; it needs the WebSocket API vocabulary).
CONNECTIONS = Table(
    name="connections", purpose="realtime connections", partition_key=Key("pk"), ttl_attribute="expires_at",
    indexes=(Index("by-user", Key("user_id"), Key("connection_id")),
             Index("by-audience", Key("audience"), Key("connection_id"))),
)
JOURNAL = Table(
    name="realtime-journal", purpose="audience journals", partition_key=Key("pk"), sort_key=Key("sk"),
    ttl_attribute="expires_at", indexes=(Index("by-event", Key("event_id"), Key("audience")),),
)


@dataclass(frozen=True)
class _Tables:
    """What create_table reads of a service: its tables by name."""

    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


@contextmanager
def realtime_tables() -> Iterator[tuple[MotoServer, LocalNames]]:
    server = MotoServer(free_port())
    server.start()
    try:
        names = LocalNames(service="realtime-test", endpoint=server.endpoint)
        for table in (CONNECTIONS, JOURNAL):
            create_table(_Tables((CONNECTIONS, JOURNAL)), server, names, table.name)  # type: ignore[arg-type]
        yield server, names
    finally:
        server.stop()


@dataclass
class ConnectionsEndpoint:
    """`POST|DELETE <stage>/@connections/<id>` as API Gateway answers them."""

    requests: list[tuple[str, str, bytes]] = field(default_factory=list)  # every request, answered or refused
    delivered: list[tuple[str, bytes]] = field(default_factory=list)  # (connection id, frame) posted
    gone: set[str] = field(default_factory=set)
    throttled: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def sent_to(self, connection_id: str) -> list[dict]:
        """The frames the connection received (posts answered 200), in order."""
        with self.lock:
            return [json.loads(body) for cid, body in self.delivered if cid == connection_id]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.delivered.clear()
            self.gone.clear()
            self.throttled.clear()


@contextmanager
def connections_endpoint() -> Iterator[ConnectionsEndpoint]:
    state = ConnectionsEndpoint()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            connection_id = unquote(self.path.rsplit("/", 1)[-1])
            with state.lock:
                state.requests.append((self.command, self.path, body))
                gone, throttled = connection_id in state.gone, connection_id in state.throttled
                if self.command == "POST" and not (gone or throttled):
                    state.delivered.append((connection_id, body))
            if gone:
                self._reply(410, {"message": "Gone"}, "GoneException")
            elif throttled:
                self._reply(429, {"message": "Too many requests"}, "LimitExceededException")
            else:
                self._reply(200 if self.command == "POST" else 204, None)

        def _reply(self, status: int, body: dict | None, error: str | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _answer
        do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = LoopbackServer(Handler, name="connections-endpoint").start()
    state.url = f"{server.url}/local"
    try:
        yield state
    finally:
        server.stop()
