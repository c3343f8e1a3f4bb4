"""The one HTTP server every local piece runs: the gateway, the provider sandboxes and the test
receivers. It binds 127.0.0.1 only, serves from a background thread, takes bursts of concurrent
clients (the listen backlog is set before listen(), where it counts), and stops cleanly:
idempotent, safe before start, and refusing new requests on kept-alive connections once it is
stopping (handlers read `server.stopping`)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BannerlessHandler(BaseHTTPRequestHandler):
    """A request handler that sends no `Server` header: the stdlib's names the Python version,
    which tells an attacker what to try and a client nothing it needs. Nagle's algorithm is off
    on its connections: the stdlib sends the headers and the body in two writes, and with it on
    the body waits for the client's delayed ACK of the headers on a kept-alive connection
    (measured: 44 ms an answer instead of 0.5 ms)."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() != "server":
            super().send_header(keyword, value)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stopping = False


class LoopbackServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], *, port: int = 0, name: str = "http",
                 backlog: int = 1024):
        # A class attribute per server: the constructor calls listen() with it.
        server_class = type(f"{_Server.__name__}[{name}]", (_Server,), {"request_queue_size": backlog})
        self.httpd: _Server = server_class(("127.0.0.1", port), handler)
        self.port: int = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=name, daemon=True)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> LoopbackServer:
        with self._lock:
            if not self._closed:
                self._thread.start()
        return self

    def stop(self, join_seconds: float = 5) -> None:
        """Idempotent, and safe before start(): shutdown() would wait forever for a
        serve_forever() that never ran. Requests being handled finish on their own threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.httpd.stopping = True
            if self._thread.is_alive():
                self.httpd.shutdown()
            self.httpd.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=join_seconds)
