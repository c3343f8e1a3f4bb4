"""The local WebSocket twin: what an API Gateway WebSocket API and its management API
(`@connections`) do in the cloud, on 127.0.0.1, from the description's `WebSocketApi`s.

moto runs no WebSocket server and its `PostToConnection` answers 200 for any id, so the twin has
its own: one WebSocket server per API (package `websockets`, asyncio, on its own thread and event
loop) and one management endpoint for all of them (a loopback HTTP server) that handlers reach
with boto3's `apigatewaymanagementapi` client and `endpoint_url` from
BAZAAR_WEBSOCKET_<NAME>_ENDPOINT, exactly as in the cloud.

On an upgrade it does what API Gateway does: no token in the identity source -> 401 without
calling the authorizer; the REQUEST authorizer's "Unauthorized" -> 401, a Deny -> 403; then the
`connect` function's CONNECT event, whose non-2xx answer (or error) refuses the connection. Each
text frame is a MESSAGE event on `$default`; a frame over the API's limit closes the socket with
1009 and a binary frame with 1003, invoking nothing; every close ends in a DISCONNECT event.
Handlers run off the event loop (in a thread pool), because a handler may post back to its own
connection through the management endpoint while it runs. API Gateway's idle timeout (10 minutes)
and connection limit (2 hours) apply, divided by the stack's clock speed. See docs/local-twin.md.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from infra.description.model import WebSocketApi
from infra.local.aws import ACCOUNT, REGION
from infra.local.events import STAGE
from infra.local.gateway import policy_allows
from infra.local.loopback import BannerlessHandler, LoopbackServer
from infra.local.runtime import FunctionRuntime, Invocation

# API Gateway's quotas for WebSocket APIs (fixed ones, not adjustable).
IDLE_TIMEOUT_SECONDS = 10 * 60
MAX_CONNECTION_SECONDS = 2 * 60 * 60
# PostToConnection's payload limit (the message size, not the frame size).
MAX_POST_BYTES = 128 * 1024
# Close codes the twin sends.
MESSAGE_TOO_BIG = 1009
UNSUPPORTED_DATA = 1003
GOING_AWAY = 1001
NORMAL = 1000


def api_id(api: WebSocketApi) -> str:
    """A stable 10-character id per API, shaped like API Gateway's."""
    return hashlib.sha1(f"websocket:{api.name}".encode()).hexdigest()[:10]


def new_connection_id() -> str:
    """Like API Gateway's (`L0SM9cOFvHcCIhw=`: 11 random bytes in base64); never with '/' or '+',
    which would need escaping in the management API's path."""
    while True:
        candidate = base64.b64encode(os.urandom(11)).decode("ascii")
        if "/" not in candidate and "+" not in candidate:
            return candidate


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _request_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Connection:
    """One client's connection, as API Gateway remembers it between events."""

    connection_id: str
    socket: ServerConnection
    connected_at: int
    source_ip: str
    user_agent: str
    authorizer: dict[str, Any]
    last_active_at: int = 0
    last_client_frame: float = field(default_factory=time.monotonic)
    closing: tuple[int, str] | None = None  # the twin's own close, for the DISCONNECT event

    def describe(self) -> dict[str, Any]:
        """GetConnection's answer, in the wire names of botocore's model (boto3 hands callers
        ConnectedAt, Identity.SourceIp/UserAgent and LastActiveAt)."""
        return {
            "connectedAt": _iso(self.connected_at),
            "identity": {"sourceIp": self.source_ip, "userAgent": self.user_agent},
            "lastActiveAt": _iso(self.last_active_at or self.connected_at),
        }


class LocalWebSocketApi:
    """One described WebSocket API: its server, its connections and the events it sends."""

    def __init__(self, api: WebSocketApi, runtimes: dict[str, FunctionRuntime], *, port: int,
                 clock_speed: float = 1.0, log: Callable[[dict], None] = lambda entry: None):
        self.api = api
        self.runtimes = runtimes
        self.api_id = api_id(api)
        self.domain_name = f"{self.api_id}.execute-api.{REGION}.amazonaws.com"
        self.idle_timeout = IDLE_TIMEOUT_SECONDS / clock_speed
        self.max_connection_seconds = MAX_CONNECTION_SECONDS / clock_speed
        self.log = log
        self.connections: dict[str, Connection] = {}
        self._requested_port = port
        self._pending: dict[int, tuple[str, int, dict[str, Any]]] = {}  # id(socket) -> handshake result
        self._loop = asyncio.new_event_loop()
        self._executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix=f"ws-{api.name}")
        self._server: Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"websocket:{api.name}", daemon=True)
        self._lock = threading.Lock()
        self._stopping = False
        self._tasks: set[asyncio.Task] = set()
        self.port = port

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/{STAGE}"

    def start(self) -> LocalWebSocketApi:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        self._server = future.result(timeout=10)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def _serve(self) -> Server:
        return await serve(
            self._connection, "127.0.0.1", self._requested_port,
            process_request=self._handshake,
            # API Gateway closes a connection whose frame is over the limit with 1009.
            max_size=self.api.max_frame_bytes,
            # API Gateway sends no pings of its own; its idle timeout is enforced below.
            ping_interval=None,
            # No Server header: a banner with versions only helps an attacker.
            server_header=None,
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Closes every connection (1001, each with its DISCONNECT event, as when API Gateway
        goes away), then the server and its loop. Idempotent, bounded, safe before start()."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        if self._thread.is_alive() and self._server is not None:
            server = self._server

            async def close() -> None:
                for connection in list(self.connections.values()):
                    connection.closing = connection.closing or (GOING_AWAY, "The local stack is stopping.")
                server.close(close_connections=True)
                await server.wait_closed()
                if self._tasks:
                    await asyncio.wait(list(self._tasks), timeout=timeout)

            try:
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=timeout)
            except Exception as error:  # noqa: BLE001 - the loop is stopped below regardless
                self.log({"websocket_stop": self.api.name, "error": repr(error)})
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=timeout)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if not self._thread.is_alive():
            self._loop.close()

    # -- the management API, called from the management endpoint's threads -----------------

    def post(self, connection_id: str, data: bytes) -> bool:
        connection = self.connections.get(connection_id)
        if connection is None or self._stopping:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        payload: str | bytes = text if text is not None else data
        try:
            asyncio.run_coroutine_threadsafe(connection.socket.send(payload), self._loop).result(timeout=10)
        except ConnectionClosed:
            return False
        connection.last_active_at = _now_ms()
        return True

    def close_connection(self, connection_id: str) -> bool:
        connection = self.connections.get(connection_id)
        if connection is None or self._stopping:
            return False
        connection.closing = (NORMAL, "Connection deleted through the management API.")
        asyncio.run_coroutine_threadsafe(connection.socket.close(NORMAL), self._loop).result(timeout=10)
        return True

    # -- the handshake: identity source, authorizer, $connect ------------------------------

    async def _handshake(self, socket: ServerConnection, request: Request) -> Response | None:
        if self._stopping:
            return socket.respond(HTTPStatus.SERVICE_UNAVAILABLE, "The local stack is stopping.\n")
        parts = urlsplit(request.path)
        if parts.path.rstrip("/") != f"/{STAGE}":
            return socket.respond(HTTPStatus.FORBIDDEN, json.dumps({"message": "Forbidden"}))
        query = parse_qsl(parts.query, keep_blank_values=True)
        headers = list(request.headers.raw_items())
        source_ip = str(socket.remote_address[0]) if socket.remote_address else "127.0.0.1"
        connection_id = new_connection_id()
        connected_at = _now_ms()
        context = self._request_context("$connect", "CONNECT", connection_id, connected_at, source_ip,
                                        request.headers.get("User-Agent", ""))
        if not dict(query).get(self.api.token_query_parameter):
            # The identity source is missing: API Gateway answers 401 without calling the authorizer.
            return _refusal(socket, HTTPStatus.UNAUTHORIZED, "Unauthorized")
        started = time.perf_counter()
        authorization = await self._invoke(self.api.authorizer, authorizer_event(
            method_arn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.api_id}/{STAGE}/$connect",
            headers=headers, query=query, stage_variables=self.api.stage_variables, context=context,
        ))
        if authorization.failed:
            unauthorized = (authorization.error or {}).get("errorMessage") == "Unauthorized"
            return _refusal(socket, HTTPStatus.UNAUTHORIZED if unauthorized else HTTPStatus.INTERNAL_SERVER_ERROR,
                            "Unauthorized" if unauthorized else "Internal server error")
        policy = authorization.payload if isinstance(authorization.payload, dict) else {}
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.api_id}/{STAGE}/$connect"
        if not policy_allows(policy, method_arn):
            return _refusal(socket, HTTPStatus.FORBIDDEN, "Forbidden")
        authorizer = {
            **{k: str(v) for k, v in (policy.get("context") or {}).items()},
            "principalId": policy.get("principalId"),
            "integrationLatency": int((time.perf_counter() - started) * 1000),
        }
        event = connect_event(context={**context, "authorizer": authorizer}, headers=headers, query=query)
        answer = await self._invoke(self.api.connect, event)
        status = answer.payload.get("statusCode") if isinstance(answer.payload, dict) else None
        if answer.failed or not isinstance(status, int) or not 200 <= status < 300:
            refused = status if isinstance(status, int) and 400 <= status < 600 else HTTPStatus.INTERNAL_SERVER_ERROR
            self.log({"websocket": self.api.name, "connect_refused": refused, "connection_id": connection_id})
            return _refusal(socket, refused, "Forbidden" if refused == HTTPStatus.FORBIDDEN else "Connection refused")
        self._pending[id(socket)] = (connection_id, connected_at, authorizer)
        return None

    # -- an open connection: frames, limits, close ----------------------------------------

    async def _connection(self, socket: ServerConnection) -> None:
        connection_id, connected_at, authorizer = self._pending.pop(id(socket))
        user_agent = socket.request.headers.get("User-Agent", "") if socket.request else ""
        source_ip = str(socket.remote_address[0]) if socket.remote_address else "127.0.0.1"
        connection = Connection(connection_id, socket, connected_at, source_ip, user_agent, authorizer)
        self.connections[connection_id] = connection
        watchdog = asyncio.create_task(self._watch(connection))
        try:
            while True:
                frame = await socket.recv()
                connection.last_client_frame = time.monotonic()
                connection.last_active_at = _now_ms()
                if isinstance(frame, bytes):
                    # API Gateway's twin takes text frames only; nothing is invoked for this one.
                    connection.closing = (UNSUPPORTED_DATA, "Binary frames are not supported.")
                    await socket.close(UNSUPPORTED_DATA, "Binary frames are not supported.")
                    break
                self._spawn(self._invoke(self.api.default, self._message_event(connection, frame)))
        except ConnectionClosed:
            pass
        finally:
            watchdog.cancel()
            self.connections.pop(connection_id, None)
            await self._disconnected(connection)

    async def _watch(self, connection: Connection) -> None:
        """Closes a connection that was idle too long, or open longer than API Gateway allows."""
        opened = time.monotonic()
        tick = min(1.0, self.idle_timeout / 10)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            reason = None
            if now - connection.last_client_frame >= self.idle_timeout:
                reason = "Idle timeout: no frame from the client within the idle limit."
            elif now - opened >= self.max_connection_seconds:
                reason = "Connection duration limit reached."
            if reason:
                connection.closing = (GOING_AWAY, reason)
                await connection.socket.close(GOING_AWAY, reason)
                return

    async def _disconnected(self, connection: Connection) -> None:
        socket = connection.socket
        if connection.closing is not None:
            code, reason = connection.closing
        elif (sent := socket.protocol.close_sent) is not None and sent.code == MESSAGE_TOO_BIG:
            # websockets itself refused the frame over max_size (and may not wait for the echo).
            code, reason = MESSAGE_TOO_BIG, "Frame size exceeds the limit."
        else:
            received = socket.protocol.close_rcvd
            code = received.code if received is not None else 1006
            reason = f"Client-side close frame status code '{code}' and reason '{received.reason if received else ''}'"
        context = self._request_context("$disconnect", "DISCONNECT", connection.connection_id,
                                        connection.connected_at, connection.source_ip, connection.user_agent)
        context.update({"disconnectStatusCode": code, "disconnectReason": reason,
                        "authorizer": connection.authorizer})
        await self._invoke(self.api.disconnect, {
            "headers": {"Host": self.domain_name, "X-Forwarded-For": connection.source_ip},
            "multiValueHeaders": {"Host": [self.domain_name], "X-Forwarded-For": [connection.source_ip]},
            "requestContext": context,
            "isBase64Encoded": False,
        })

    # -- events ---------------------------------------------------------------------------

    def _request_context(self, route_key: str, event_type: str, connection_id: str, connected_at: int,
                         source_ip: str, user_agent: str) -> dict[str, Any]:
        now = _now_ms()
        return {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": STAGE,
            "connectedAt": connected_at,
            "requestTimeEpoch": now,
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
            "requestId": uuid.uuid4().hex[:16],
            "domainName": self.domain_name,
            "connectionId": connection_id,
            "apiId": self.api_id,
        }

    def _message_event(self, connection: Connection, body: str) -> dict[str, Any]:
        context = self._request_context("$default", "MESSAGE", connection.connection_id, connection.connected_at,
                                        connection.source_ip, connection.user_agent)
        context["messageId"] = base64.b64encode(os.urandom(11)).decode("ascii")
        context["authorizer"] = connection.authorizer
        return {"requestContext": context, "body": body, "isBase64Encoded": False}

    async def _invoke(self, function: str, event: dict) -> Invocation:
        runtime = self.runtimes[function]
        return await asyncio.get_running_loop().run_in_executor(self._executor, runtime.invoke, event)

    def _spawn(self, work) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _refusal(socket: ServerConnection, status: int, message: str) -> Response:
    response = socket.respond(status, json.dumps({"message": message}))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    return {k: v[-1] for k, v in multi.items()}, multi


def authorizer_event(*, method_arn: str, headers: list[tuple[str, str]], query: list[tuple[str, str]],
                     stage_variables: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
    """A WebSocket API's REQUEST authorizer input on $connect."""
    single_headers, multi_headers = _single_and_multi(headers)
    single_query, multi_query = _single_and_multi(query)
    return {
        "type": "REQUEST",
        "methodArn": method_arn,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "stageVariables": dict(stage_variables),
        "requestContext": context,
    }


def connect_event(*, context: dict[str, Any], headers: list[tuple[str, str]],
                  query: list[tuple[str, str]]) -> dict[str, Any]:
    """The $connect route's Lambda proxy event."""
    single_headers, multi_headers = _single_and_multi(headers)
    single_query, multi_query = _single_and_multi(query)
    return {
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": context,
        "isBase64Encoded": False,
    }


# -- the management endpoint ---------------------------------------------------------------


class ManagementEndpoint:
    """`POST/GET/DELETE /<api>/<stage>/@connections/{id}` for every API (PostToConnection,
    GetConnection, DeleteConnection). Each API's endpoint URL is `<url>/<api>/<stage>`: boto3
    keeps an endpoint_url's path and appends `/@connections/{id}`. An unknown (or closed)
    connection answers 410 with `x-amzn-ErrorType: GoneException`, which botocore raises as the
    client's GoneException."""

    def __init__(self, port: int = 0):
        self.apis: dict[str, LocalWebSocketApi] = {}
        self.server = LoopbackServer(_management_handler(self), port=port, name="websocket-management")
        self.port = self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    def endpoint(self, api: str) -> str:
        return f"{self.url}/{api}/{STAGE}"

    def start(self) -> ManagementEndpoint:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path).path.split("/")
        # ['', <api>, <stage>, '@connections', <id>]
        if len(parts) != 5 or parts[2] != STAGE or parts[3] != "@connections" or parts[1] not in self.apis:
            return _error(403, "ForbiddenException", "Forbidden.")
        api, connection_id = self.apis[parts[1]], unquote(parts[4])
        if method == "POST":
            if len(body) > MAX_POST_BYTES:
                return _error(413, "PayloadTooLargeException", "Message too long.")
            if api.post(connection_id, body):
                return 200, {}, b""
        elif method == "GET":
            connection = api.connections.get(connection_id)
            if connection is not None:
                return 200, {"Content-Type": "application/json"}, json.dumps(connection.describe()).encode()
        elif method == "DELETE":
            if api.close_connection(connection_id):
                return 204, {}, b""
        else:
            return _error(403, "ForbiddenException", "Forbidden.")
        return _error(410, "GoneException", f"Connection {connection_id} is gone.")


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": kind}
    return status, headers, json.dumps({"message": message}).encode()


def _management_handler(endpoint: ManagementEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BannerlessHandler):
        protocol_version = "HTTP/1.1"
        server_version = "bazaar-local-websocket-management"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, answer = endpoint.handle(self.command, self.path, body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler

