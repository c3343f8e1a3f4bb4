"""The local WebSocket twin, through the real protocols: a WebSocket client (the `websockets`
package's sync client) against the twin's server, boto3's apigatewaymanagementapi against its
management endpoint, and the fixture handlers (tests/fixtures/websocket_functions.py) recording
every event they are handed in the ws-log table, read back here with boto3."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime

import boto3
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.fixtures.websocket_service import ECHO, LOG_TABLE
from tests.waiting import until

pytestmark = pytest.mark.slow

# API Gateway's connection ids: 11 bytes in base64 (`L0SM9cOFvHcCIhw=`).
CONNECTION_ID = re.compile(r"^[A-Za-z0-9]{15}=$")


@pytest.fixture(scope="module")
def stack(websocket_stack):
    return websocket_stack


@pytest.fixture(scope="module")
def management(stack):
    return boto3.client("apigatewaymanagementapi", endpoint_url=stack.websocket_endpoint(ECHO),
                        region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")


def _open(stack, token: str | None, **query: str) -> ClientConnection:
    parameters = {**({"access_token": token} if token is not None else {}), **query}
    url = stack.websocket_url(ECHO) + ("?" + "&".join(f"{k}={v}" for k, v in parameters.items()) if parameters else "")
    return connect(url, open_timeout=30, user_agent_header="bazaar-tests")


def _refusal(stack, token: str | None, **query: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        _open(stack, token, **query)
    return refused.value.response.status_code


def _events(stack, function: str, marker: str | None = None, connection_id: str | None = None) -> list[dict]:
    """What `function` was handed (its log, oldest first), on one connection or mentioning `marker`."""
    items = stack.client("dynamodb").scan(TableName=stack.names.table_name(LOG_TABLE), ConsistentRead=True)["Items"]
    found = []
    for item in sorted(items, key=lambda i: i["sk"]["S"]):
        owner, _, connection = item["pk"]["S"].partition("#")
        if owner != function or (connection_id and connection != connection_id):
            continue
        if marker and marker not in item["body"]["S"]:
            continue
        found.append({"kind": item["kind"]["S"], **json.loads(item["body"]["S"])})
    return found


def _whoami(socket: ClientConnection) -> str:
    socket.send(json.dumps({"action": "whoami"}))
    return json.loads(socket.recv(timeout=30))["connection_id"]


def test_no_token_is_refused_with_401_without_calling_the_authorizer(stack):
    marker = uuid.uuid4().hex
    assert _refusal(stack, None, probe=marker) == 401
    assert _refusal(stack, "", probe=marker) == 401
    assert _events(stack, "ws-authorizer", marker) == []


def test_a_forged_token_is_refused_with_401_by_the_authorizer(stack):
    marker = uuid.uuid4().hex
    assert _refusal(stack, "forged", probe=marker) == 401
    assert _events(stack, "ws-authorizer", marker), "the authorizer decided"
    assert _events(stack, "ws-connect", marker) == []


def test_a_denied_caller_is_refused_with_403_and_connect_never_runs(stack):
    marker = uuid.uuid4().hex
    assert _refusal(stack, "deny-mallory", probe=marker) == 403
    assert _events(stack, "ws-connect", marker) == []


def test_a_connect_handler_answering_non_2xx_refuses_the_connection(stack):
    marker = uuid.uuid4().hex
    assert _refusal(stack, "allow-amy", refuse="yes", probe=marker) == 403
    assert [e["kind"] for e in _events(stack, "ws-connect", marker)] == ["connect"]


def test_the_authorizer_and_connect_get_api_gateways_events(stack):
    marker = uuid.uuid4().hex
    with _open(stack, "allow-amy", probe=marker) as socket:
        connection_id = _whoami(socket)
    assert CONNECTION_ID.match(connection_id)
    [authorizer] = _events(stack, "ws-authorizer", marker)
    assert authorizer["type"] == "REQUEST"
    assert re.fullmatch(r"arn:aws:execute-api:us-east-1:123456789012:[a-z0-9]{10}/live/\$connect",
                        authorizer["methodArn"])
    assert authorizer["queryStringParameters"] == {"access_token": "allow-amy", "probe": marker}
    assert authorizer["stageVariables"] == {"bazaarWebSocketApi": ECHO, "bazaarTokenQueryParameter": "access_token"}
    assert authorizer["headers"]["User-Agent"] == "bazaar-tests"
    assert {k: authorizer["requestContext"][k] for k in ("routeKey", "eventType", "stage", "connectionId")} == {
        "routeKey": "$connect", "eventType": "CONNECT", "stage": "live", "connectionId": connection_id}
    [connect_event] = _events(stack, "ws-connect", connection_id=connection_id)
    context = connect_event["requestContext"]
    assert context["routeKey"] == "$connect" and context["eventType"] == "CONNECT"
    assert context["connectionId"] == connection_id and context["messageDirection"] == "IN"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["domainName"] == f"{context['apiId']}.execute-api.us-east-1.amazonaws.com"
    assert isinstance(context["connectedAt"], int) and isinstance(context["requestTimeEpoch"], int)
    assert {k: context["authorizer"][k] for k in ("principalId", "user_id", "roles")} == {
        "principalId": "amy", "user_id": "amy", "roles": "customer"}
    assert connect_event["queryStringParameters"] == {"access_token": "allow-amy", "probe": marker}
    assert connect_event["isBase64Encoded"] is False


def test_a_frame_reaches_default_and_the_handlers_post_arrives_on_the_socket(stack):
    with _open(stack, "allow-ben") as socket:
        connection_id = _whoami(socket)
        frame = json.dumps({"action": "echo", "text": "namaste ₹"})
        socket.send(frame)
        assert socket.recv(timeout=30) == frame
    messages = [e for e in _events(stack, "ws-default", connection_id=connection_id) if e["kind"] == "message"]
    assert [m["body"] for m in messages] == [json.dumps({"action": "whoami"}), frame]
    event = messages[1]
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert {k: context[k] for k in ("routeKey", "eventType", "connectionId", "stage", "messageDirection")} == {
        "routeKey": "$default", "eventType": "MESSAGE", "connectionId": connection_id, "stage": "live",
        "messageDirection": "IN"}
    assert context["messageId"] and context["authorizer"]["user_id"] == "ben"


def test_a_handler_posts_to_another_connection(stack):
    with _open(stack, "allow-cat") as listener, _open(stack, "allow-dan") as speaker:
        listener_id = _whoami(listener)
        speaker.send(json.dumps({"action": "post", "to": listener_id, "data": "hello from dan"}))
        assert listener.recv(timeout=30) == "hello from dan"


def test_posting_to_an_unknown_connection_raises_gone(stack, management):
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId="L0SM9cOFvHcCIhw=", Data=b"anyone?")
    with pytest.raises(management.exceptions.GoneException):
        management.get_connection(ConnectionId="L0SM9cOFvHcCIhw=")
    with _open(stack, "allow-eve") as socket:
        connection_id = _whoami(socket)
        socket.send(json.dumps({"action": "post", "to": "L0SM9cOFvHcCIhw=", "data": "x"}))
        outcome = until(lambda: [e for e in _events(stack, "ws-default", connection_id=connection_id)
                                 if e["kind"] == "outcome" and e["action"] == "post"])
    assert outcome[0]["outcome"] == "GoneException"


def test_get_and_delete_a_connection(stack, management):
    with _open(stack, "allow-fay") as socket:
        connection_id = _whoami(socket)
        described = management.get_connection(ConnectionId=connection_id)
        assert isinstance(described["ConnectedAt"], datetime) and isinstance(described["LastActiveAt"], datetime)
        assert described["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "bazaar-tests"}
        management.post_to_connection(ConnectionId=connection_id, Data=b"from the test")
        assert socket.recv(timeout=30) == "from the test"
        management.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=30)
    with pytest.raises(management.exceptions.GoneException):
        management.get_connection(ConnectionId=connection_id)
    disconnect = until(lambda: _events(stack, "ws-disconnect", connection_id=connection_id))
    assert disconnect[0]["requestContext"]["disconnectStatusCode"] == 1000


def test_oversized_and_binary_frames_close_the_socket_and_the_server_keeps_serving(stack):
    with _open(stack, "allow-gus") as bystander:
        with _open(stack, "allow-hal") as big:
            big_id = _whoami(big)
            big.send(json.dumps({"action": "echo", "pad": "x" * 5000}))  # over the fixture's 4096
            with pytest.raises(ConnectionClosed) as closed:
                big.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        with _open(stack, "allow-ivy") as binary:
            binary_id = _whoami(binary)
            binary.send(b"\x00\x01binary")
            with pytest.raises(ConnectionClosed) as closed:
                binary.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
        frame = json.dumps({"action": "echo", "still": "here"})
        bystander.send(frame)
        assert bystander.recv(timeout=30) == frame
    for connection_id, code in ((big_id, 1009), (binary_id, 1003)):
        messages = [e for e in _events(stack, "ws-default", connection_id=connection_id) if e["kind"] == "message"]
        assert [m["body"] for m in messages] == [json.dumps({"action": "whoami"})], "nothing invoked for the frame"
        disconnect = until(lambda: _events(stack, "ws-disconnect", connection_id=connection_id))  # noqa: B023
        assert disconnect[0]["requestContext"]["disconnectStatusCode"] == code


def test_a_client_close_reaches_disconnect(stack):
    with _open(stack, "allow-jo") as socket:
        connection_id = _whoami(socket)
        socket.close(code=1000, reason="bye")
    [event] = until(lambda: _events(stack, "ws-disconnect", connection_id=connection_id))
    context = event["requestContext"]
    assert {k: context[k] for k in ("routeKey", "eventType", "connectionId", "disconnectStatusCode")} == {
        "routeKey": "$disconnect", "eventType": "DISCONNECT", "connectionId": connection_id,
        "disconnectStatusCode": 1000}
    assert "bye" in context["disconnectReason"]
    assert context["authorizer"]["user_id"] == "jo"


@pytest.fixture(scope="module")
def fast_stack(tmp_path_factory):
    """A stack of its own at clock speed 600: API Gateway's 10-minute idle timeout is 1 s here,
    its 2-hour connection limit 12 s. Stopped by the shutdown test (and here, idempotently)."""
    from infra.local.stack import LocalConfig, LocalStack
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("websockets-fast"), seed_accounts=False,
                                               clock_speed=600), WEBSOCKET_SERVICE).start()
    yield running
    running.stop()


def test_an_idle_connection_is_closed_after_the_scaled_idle_timeout(fast_stack):
    marker = uuid.uuid4().hex
    with _open(fast_stack, "allow-kim", probe=marker) as socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)  # never sends a frame
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    [connected] = _events(fast_stack, "ws-connect", marker)
    connection_id = connected["requestContext"]["connectionId"]
    [event] = until(lambda: _events(fast_stack, "ws-disconnect", connection_id=connection_id))
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert "Idle" in event["requestContext"]["disconnectReason"]


def _keep_busy(socket: ClientConnection) -> None:
    while True:  # a frame every 0.3 s (answered by nothing): never idle, until the twin closes it
        socket.send(json.dumps({"action": "none"}))
        time.sleep(0.3)


def test_a_busy_connection_is_closed_at_the_scaled_two_hour_limit(fast_stack):
    opened = time.monotonic()
    with _open(fast_stack, "allow-lee") as socket, pytest.raises(ConnectionClosed) as closed:
        _keep_busy(socket)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert "duration" in closed.value.rcvd.reason
    assert 11.5 <= time.monotonic() - opened <= 20


def test_stopping_the_stack_closes_every_socket_and_its_servers(fast_stack):
    url = fast_stack.websocket_url(ECHO)
    endpoint = fast_stack.websocket_endpoint(ECHO)
    with _open(fast_stack, "allow-max") as socket:
        fast_stack.stop()
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert fast_stack.websocket_apis == {} and fast_stack.websocket_management is None
    for address in (url.replace("ws://", "http://"), endpoint):
        with pytest.raises(requests.ConnectionError):
            requests.get(address, timeout=5)
