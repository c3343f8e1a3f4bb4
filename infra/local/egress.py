"""The local twin of the network's NAT gateway: a plain HTTP forward proxy on 127.0.0.1 whose
outbound connections leave from a second loopback address, `EGRESS_ADDRESS`, the local "Elastic
IP". A provider sandbox that allowlists client addresses (as RazorpayX allowlists IPs) accepts a
fixed-egress function's calls, which arrive from that address, and refuses any other function's,
which arrive from 127.0.0.1, just as the provider would in the cloud.

It forwards absolute-form HTTP requests (`GET http://host:port/path`) and tunnels CONNECT (for
https URLs), to loopback destinations only: locally every provider is a sandbox on 127.0.0.1,
and a call that would leave the machine is answered 502 rather than sent to a real provider.
Every request it handled is recorded (`forwarded`), for tests.

Linux routes all of 127.0.0.0/8 to the loopback interface, so binding 127.0.0.2 needs no setup;
macOS has only 127.0.0.1 on lo0 until `sudo ifconfig lo0 alias 127.0.0.2` adds it, and start()
says so rather than failing on the first call.
"""

from __future__ import annotations

import http.client
import ipaddress
import selectors
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from infra.local.loopback import LoopbackServer

EGRESS_ADDRESS = "127.0.0.2"
UPSTREAM_TIMEOUT_SECONDS = 60

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")

# Headers that describe one connection, not the request: never passed on (RFC 9110 7.6.1).
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade",
})


@dataclass(frozen=True)
class Forwarded:
    """One request the proxy handled: who asked (`client`), for what, the address it left from
    (`egress`) and the upstream status (502 when it could not be delivered; 200 for a tunnel)."""

    client: str
    method: str
    target: str
    egress: str
    status: int


class EgressRefused(Exception):
    """The destination is not one the local NAT gateway reaches."""


def _loopback_address(host: str, port: int) -> str:
    """The IPv4 loopback address `host` resolves to, or EgressRefused."""
    try:
        resolved = str(socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except OSError as error:
        raise EgressRefused(f"{host} does not resolve ({error})") from None
    if not ipaddress.ip_address(resolved).is_loopback:
        raise EgressRefused(
            f"{host} ({resolved}) is outside this machine; the local NAT gateway reaches the provider "
            "sandboxes on 127.0.0.0/8 only"
        )
    return resolved


class EgressProxy:
    """The NAT gateway twin of network `name`. start() and stop() like every local server
    (idempotent, bounded); `url` is what fixed-egress functions get as their proxy."""

    def __init__(self, name: str, *, port: int = 0, egress_address: str = EGRESS_ADDRESS,
                 log: Callable[[dict], None] | None = None):
        self.name = name
        self.egress_address = egress_address
        self._log = log or (lambda entry: None)
        self._lock = threading.Lock()
        self._forwarded: list[Forwarded] = []
        self._server = LoopbackServer(_handler_class(self), port=port, name=f"egress:{name}")

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def running(self) -> bool:
        return self._server.running

    def start(self) -> EgressProxy:
        probe = socket.socket()
        try:
            probe.bind((self.egress_address, 0))
        except OSError as error:
            self._server.stop()
            raise RuntimeError(
                f"cannot send from {self.egress_address}, the local NAT gateway's address ({error}); "
                f"on macOS add it first: sudo ifconfig lo0 alias {self.egress_address}"
            ) from error
        finally:
            probe.close()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def forwarded(self) -> list[Forwarded]:
        with self._lock:
            return list(self._forwarded)

    def environment(self, direct: Iterable[str]) -> dict[str, str]:
        """The variables that send a process's HTTP(S) calls through this proxy, except those to
        the `direct` destinations (host:port entries, e.g. moto's endpoint)."""
        no_proxy = ",".join(direct)
        return {**dict.fromkeys(PROXY_VARIABLES, self.url), **dict.fromkeys(NO_PROXY_VARIABLES, no_proxy)}

    def routes(self, environment: dict[str, str]) -> bool:
        """Whether a process with this environment sends its calls through this proxy."""
        return all(environment.get(name) == self.url for name in PROXY_VARIABLES)

    def _record(self, forwarded: Forwarded) -> None:
        with self._lock:
            self._forwarded.append(forwarded)
        self._log({"egress": self.name, **asdict(forwarded)})


def _handler_class(proxy: EgressProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "bazaar-local-nat"
        server: Any  # the stdlib types it as BaseServer; the loopback server has `stopping`

        def _forward(self) -> None:
            body = self._request_body()
            if self.server.stopping:
                self._answer(503, b"the local NAT gateway is stopping\n", close=True)
                return
            target = urlsplit(self.path)
            if target.scheme != "http" or not target.hostname:
                self._answer(400, b"a forward proxy takes absolute http:// URLs (or CONNECT)\n")
                return
            port = target.port or 80
            # Each outcome is recorded before it is answered, so a client that has its answer
            # always finds it in `forwarded`.
            record = lambda status: proxy._record(  # noqa: E731
                Forwarded(self.client_address[0], self.command, self.path, proxy.egress_address, status))
            try:
                address = _loopback_address(target.hostname, port)
                upstream = http.client.HTTPConnection(
                    address, port, timeout=UPSTREAM_TIMEOUT_SECONDS, source_address=(proxy.egress_address, 0)
                )
                try:
                    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
                    upstream.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                    for key, value in self._end_to_end(self.headers.items()):
                        if key.lower() != "content-length":
                            upstream.putheader(key, value)
                    if "host" not in {k.lower() for k in self.headers}:
                        upstream.putheader("Host", target.netloc)
                    if body or self.command in ("POST", "PUT", "PATCH"):
                        upstream.putheader("Content-Length", str(len(body)))
                    upstream.endheaders(body or None)
                    response = upstream.getresponse()
                    answer = response.read()
                finally:
                    upstream.close()
            except EgressRefused as refused:
                record(502)
                self._answer(502, f"{refused}\n".encode())
                return
            except OSError as error:
                record(502)
                self._answer(502, f"could not reach {target.netloc}: {error}\n".encode())
                return
            record(response.status)
            self.send_response(response.status, response.reason)
            for key, value in self._end_to_end(response.getheaders()):
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self._send(b"" if self.command == "HEAD" else answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

        def do_CONNECT(self) -> None:
            host, _, port_text = self.path.rpartition(":")
            if self.server.stopping or not host or not port_text.isdigit():
                self._answer(503 if self.server.stopping else 400, b"CONNECT takes host:port\n", close=True)
                return
            try:
                address = _loopback_address(host.strip("[]"), int(port_text))
                upstream = socket.create_connection((address, int(port_text)), timeout=UPSTREAM_TIMEOUT_SECONDS,
                                                    source_address=(proxy.egress_address, 0))
            except EgressRefused as refused:
                proxy._record(Forwarded(self.client_address[0], "CONNECT", self.path, proxy.egress_address, 502))
                self._answer(502, f"{refused}\n".encode(), close=True)
                return
            except OSError as error:
                proxy._record(Forwarded(self.client_address[0], "CONNECT", self.path, proxy.egress_address, 502))
                self._answer(502, f"could not reach {self.path}: {error}\n".encode(), close=True)
                return
            proxy._record(Forwarded(self.client_address[0], "CONNECT", self.path, proxy.egress_address, 200))
            self.send_response(200, "Connection Established")
            self.end_headers()
            self.close_connection = True
            with upstream:
                self._tunnel(upstream)

        def _tunnel(self, upstream: socket.socket) -> None:
            """Copies bytes both ways until either side closes or the proxy stops."""
            with selectors.DefaultSelector() as selector:
                selector.register(self.connection, selectors.EVENT_READ, upstream)
                selector.register(upstream, selectors.EVENT_READ, self.connection)
                while not self.server.stopping:
                    for key, _ in selector.select(timeout=0.5):
                        source: Any = key.fileobj
                        try:
                            data = source.recv(65536)
                            if not data:
                                return
                            key.data.sendall(data)
                        except OSError:
                            return

        def _request_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():
                    pass  # trailers, discarded
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        @staticmethod
        def _end_to_end(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
            headers = list(headers)
            named = {
                token.strip().lower()
                for key, value in headers if key.lower() == "connection" for token in value.split(",")
            }
            return [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP | named]

        def _answer(self, status: int, text: bytes, *, close: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            if close:
                self.send_header("Connection", "close")
            self._send(text)

        def _send(self, body: bytes) -> None:
            if self.server.stopping:
                self.send_header("Connection", "close")  # and the stdlib closes it after this answer
            try:
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting: nothing left to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # every request is recorded (and logged) as a Forwarded instead

    return Handler
