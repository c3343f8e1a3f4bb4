"""Bazaar's real identity authorizer on a WebSocket $connect, against the whole Bazaar stack: the
description plus the WebSocket fixture's echo API (tests/fixtures/websocket_service.py) whose
authorizer is `identity-authorizer` and whose connect roles are customer and seller. Tokens come
from POST /v1/auth/login, as clients get them. The echo API's connect roles leave admins out, which
Bazaar's realtime API (every role) cannot show: a role refused at $connect answers 403. The realtime
API itself is exercised in test_realtime_updates.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import login
from tests.e2e.identity_helpers import get, post, registered_and_signed_in
from tests.fixtures.websocket_service import ECHO, LOG_TABLE, WEBSOCKET_SERVICE

pytestmark = pytest.mark.slow


def _bazaar_with_echo():
    echo = replace(WEBSOCKET_SERVICE.websocket_api(ECHO), authorizer="identity-authorizer")
    fixture_functions = tuple(f for f in WEBSOCKET_SERVICE.functions if f.name in echo.route_functions.values())
    return replace(SERVICE, tables=SERVICE.tables + WEBSOCKET_SERVICE.tables,
                   functions=SERVICE.functions + fixture_functions,
                   websocket_apis=SERVICE.websocket_apis + (echo,))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("ws-identity")), _bazaar_with_echo()).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(stack) -> str:
    return stack.url


def _connect(stack, token: str):
    return connect(f"{stack.websocket_url(ECHO)}?access_token={token}", open_timeout=30)


def _refused(stack, token: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        _connect(stack, token)
    return refused.value.response.status_code


def _connect_events(stack, user_id: str) -> list[dict]:
    items = stack.client("dynamodb").scan(TableName=stack.names.table_name(LOG_TABLE), ConsistentRead=True)["Items"]
    events = [json.loads(i["body"]["S"]) for i in items if i["kind"]["S"] == "connect"]  # the connect handler's
    return [e for e in events if e["requestContext"]["authorizer"].get("user_id") == user_id]


def _whoami(socket) -> str:
    socket.send(json.dumps({"action": "whoami"}))
    return json.loads(socket.recv(timeout=30))["connection_id"]


def test_a_seeded_customer_connects_with_its_identity_in_the_authorizer_context(stack, api):
    token = login(api, **stack.accounts["customer"])["access_token"]
    me = get(f"{api}/v1/me", token)
    assert me.status_code == 200, me.text
    user_id = me.json()["user_id"]
    with _connect(stack, token) as socket:
        connection_id = _whoami(socket)
    [event] = [e for e in _connect_events(stack, user_id) if e["requestContext"]["connectionId"] == connection_id]
    authorizer = event["requestContext"]["authorizer"]
    assert (authorizer["user_id"], authorizer["principalId"], authorizer["roles"]) == (user_id, user_id, "customer")


def test_a_role_not_allowed_to_connect_is_denied_with_403(stack, api):
    admin = login(api, **stack.accounts["admin"])["access_token"]
    assert _refused(stack, admin) == 403


def test_no_token_or_a_forged_one_is_refused_with_401(stack):
    with pytest.raises(InvalidStatus) as refused:
        connect(stack.websocket_url(ECHO), open_timeout=30)
    assert refused.value.response.status_code == 401
    assert _refused(stack, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl") == 401


def test_after_logout_the_token_no_longer_connects(stack, api):
    _, tokens = registered_and_signed_in(api, "seller")
    with _connect(stack, tokens["access_token"]) as socket:
        _whoami(socket)
    assert post(f"{api}/v1/auth/logout", token=tokens["access_token"]).status_code == 204
    assert _refused(stack, tokens["access_token"]) == 401


def test_a_suspended_user_can_no_longer_connect(stack, api):
    user, tokens = registered_and_signed_in(api, "customer")
    with _connect(stack, tokens["access_token"]) as socket:
        _whoami(socket)
    admin = login(api, **stack.accounts["admin"])["access_token"]
    suspended = post(f"{api}/v1/admin/users/{user['user_id']}/suspend", {"reason": "fraud report"}, admin)
    assert suspended.status_code == 200, suspended.text
    assert _refused(stack, tokens["access_token"]) == 401
