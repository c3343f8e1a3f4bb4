"""The API Gateway pusher over HTTP against an `@connections` endpoint in miniature on 127.0.0.1
(boto3's apigatewaymanagementapi client, signed requests and all): a post reaches its
connection with the frame's bytes, a 410 is ConnectionGone, a throttle that outlasts the
client's retries is PushFailed, and closing a gone connection is no error."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from bazaar.realtime.adapters.apigateway import ApiGatewayPusher, management_client
from bazaar.realtime.ports import ConnectionGone, PushFailed
from infra.local.loopback import LoopbackServer


class Connections:
    """What the endpoint saw, and how it answers: 410 for gone ids, 429 for throttled ones."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, bytes]] = []
        self.gone: set[str] = set()
        self.throttled: set[str] = set()


@pytest.fixture(scope="module")
def endpoint():
    state = Connections()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            connection_id = self.path.rsplit("/", 1)[-1]
            with state.lock:
                state.requests.append((self.command, self.path, body))
            if connection_id in state.gone:
                self._reply(410, {"message": "Gone"}, "GoneException")
            elif connection_id in state.throttled:
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
    yield server.url, state
    server.stop()


@pytest.fixture
def pusher(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    url, state = endpoint
    with state.lock:
        state.requests.clear()
    return ApiGatewayPusher(management_client(f"{url}/local"))


def test_a_frame_is_posted_to_its_connection_as_sent(pusher, endpoint):
    _, state = endpoint
    pusher.post("c-asha=", '{"type":"pong"}')
    [(method, path, body)] = state.requests
    assert (method, path, body) == ("POST", "/local/@connections/c-asha%3D", b'{"type":"pong"}')


def test_a_gone_client_is_connection_gone(pusher, endpoint):
    endpoint[1].gone.add("c-gone")
    with pytest.raises(ConnectionGone):
        pusher.post("c-gone", '{"type":"pong"}')
    pusher.close("c-gone")  # closing a gone connection is no error


def test_a_throttle_that_outlasts_the_retries_is_push_failed(pusher, endpoint):
    endpoint[1].throttled.add("c-busy")
    with pytest.raises(PushFailed):
        pusher.post("c-busy", '{"type":"pong"}')
    assert len(endpoint[1].requests) >= 2  # the client retried a throttle before giving up


def test_closing_deletes_the_connection(pusher, endpoint):
    pusher.close("c-asha")
    assert [(m, p) for m, p, _ in endpoint[1].requests] == [("DELETE", "/local/@connections/c-asha")]
