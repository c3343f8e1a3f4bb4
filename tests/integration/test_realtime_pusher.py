"""The API Gateway pusher over HTTP against an `@connections` endpoint in miniature on 127.0.0.1
(boto3's apigatewaymanagementapi client, signed requests and all): a post reaches its
connection with the frame's bytes, a 410 is ConnectionGone, a throttle that outlasts the
client's retries is PushFailed, and closing a gone connection is no error."""

from __future__ import annotations

import pytest

from bazaar.realtime.adapters.apigateway import ApiGatewayPusher, management_client
from bazaar.realtime.ports import ConnectionGone, PushFailed
from tests.integration.realtime_support import connections_endpoint


@pytest.fixture(scope="module")
def endpoint():
    with connections_endpoint() as running:
        yield running


@pytest.fixture
def pusher(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    endpoint.clear()
    return ApiGatewayPusher(management_client(endpoint.url))


def test_a_frame_is_posted_to_its_connection_as_sent(pusher, endpoint):
    pusher.post("c-asha=", '{"type":"pong"}')
    [(method, path, body)] = endpoint.requests
    assert (method, path, body) == ("POST", "/local/@connections/c-asha%3D", b'{"type":"pong"}')


def test_a_gone_client_is_connection_gone(pusher, endpoint):
    endpoint.gone.add("c-gone")
    with pytest.raises(ConnectionGone):
        pusher.post("c-gone", '{"type":"pong"}')
    pusher.close("c-gone")  # closing a gone connection is no error


def test_a_throttle_that_outlasts_the_retries_is_push_failed(pusher, endpoint):
    endpoint.throttled.add("c-busy")
    with pytest.raises(PushFailed):
        pusher.post("c-busy", '{"type":"pong"}')
    assert len(endpoint.requests) >= 2  # the client retried a throttle before giving up


def test_closing_deletes_the_connection(pusher, endpoint):
    pusher.close("c-asha")
    assert [(m, p) for m, p, _ in endpoint.requests] == [("DELETE", "/local/@connections/c-asha")]
