"""The WebSocketApi kind: what the description refuses, the management endpoint each pushing
function is given, the connect roles the authorizer reads, and the authorizer's reading of both
REQUEST authorizer events (REST and WebSocket $connect)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bazaar.identity import authorizer_requests
from bazaar.platform.settings import UndeclaredResourceError, load_settings
from infra.description import model
from infra.description.model import DescriptionError, Function, Role, WebSocketApi
from tests.fixtures.websocket_service import ECHO, WEBSOCKET_SERVICE
from infra.description.model import PlaceholderNames




def _api(**overrides) -> WebSocketApi:
    return replace(WEBSOCKET_SERVICE.websocket_api(ECHO), **overrides)


def _service(**overrides):
    return replace(WEBSOCKET_SERVICE, **overrides)


def test_a_pushing_function_reads_its_endpoint_from_its_settings():
    env = WEBSOCKET_SERVICE.function_environment(WEBSOCKET_SERVICE.function("ws-default"), PlaceholderNames())
    assert env["BAZAAR_WEBSOCKET_ECHO_ENDPOINT"] == PlaceholderNames().websocket_endpoint(ECHO)
    settings = load_settings({**env, "BAZAAR_VERSION": "1", "MAX_REQUEST_BODY_BYTES": "8192"})
    assert settings.websocket_endpoint(ECHO) == PlaceholderNames().websocket_endpoint(ECHO)
    with pytest.raises(UndeclaredResourceError, match="WebSocket API 'realtime'"):
        settings.websocket_endpoint("realtime")
    other = WEBSOCKET_SERVICE.function_environment(WEBSOCKET_SERVICE.function("ws-connect"), PlaceholderNames())
    assert not any(k.startswith("BAZAAR_WEBSOCKET_") for k in other)


def test_the_authorizer_gets_the_connect_roles_under_dollar_connect_and_the_api_name():
    env = WEBSOCKET_SERVICE.function_environment(WEBSOCKET_SERVICE.function("ws-authorizer"), PlaceholderNames())
    settings = load_settings({**env, "BAZAAR_VERSION": "1", "MAX_REQUEST_BODY_BYTES": "8192"})
    assert settings.route_roles == {"$connect echo": frozenset({"customer", "seller"})}
    handler = WEBSOCKET_SERVICE.function_environment(WEBSOCKET_SERVICE.function("ws-default"), PlaceholderNames())
    assert "BAZAAR_ROUTE_ROLES" not in handler


def test_the_stage_variable_names_are_the_ones_the_authorizer_reads():
    assert model.WEBSOCKET_API_STAGE_VARIABLE == authorizer_requests.WEBSOCKET_API_STAGE_VARIABLE
    assert model.TOKEN_PARAMETER_STAGE_VARIABLE == authorizer_requests.TOKEN_PARAMETER_STAGE_VARIABLE
    assert WebSocketApi.__dataclass_fields__["token_query_parameter"].default == authorizer_requests.DEFAULT_TOKEN_PARAMETER


@pytest.mark.parametrize(("overrides", "message"), [
    ({"roles": frozenset()}, "names no roles"),
    ({"name": "Bad_Name"}, "name 'Bad_Name'"),
    ({"purpose": " "}, "needs a purpose"),
    ({"max_frame_bytes": 64 * 1024}, "max_frame_bytes"),
    ({"token_query_parameter": "a b"}, "token query parameter"),
])
def test_an_unsafe_websocket_api_is_refused(overrides, message):
    with pytest.raises(DescriptionError, match=message):
        _api(**overrides)


@pytest.mark.parametrize("role", ["connect", "disconnect", "default", "authorizer"])
def test_every_function_of_the_api_must_be_declared(role):
    with pytest.raises(DescriptionError, match=rf"its \$?{role} function 'missing'"):
        _service(websocket_apis=(_api(**{role: "missing"}),))


def test_pushing_to_an_undeclared_api_is_refused():
    functions = tuple(replace(f, pushes_to=("realtime",)) if f.name == "ws-default" else f
                      for f in WEBSOCKET_SERVICE.functions)
    with pytest.raises(DescriptionError, match="pushes to WebSocket API 'realtime'"):
        _service(functions=functions)


def test_the_endpoint_variable_is_reserved():
    with pytest.raises(DescriptionError, match="BAZAAR_WEBSOCKET_ECHO_ENDPOINT is reserved"):
        Function(name="ws-x", handler="a.b.c", description="x",
                 environment={"BAZAAR_WEBSOCKET_ECHO_ENDPOINT": "http://elsewhere"})


def test_two_apis_with_one_name_are_refused():
    with pytest.raises(DescriptionError, match="websocket api names used twice"):
        _service(websocket_apis=(_api(), _api()))


def test_roles_are_roles():
    assert _api(roles=frozenset({"admin"})).roles == {Role.ADMIN}


# -- what the identity authorizer reads --------------------------------------------------------

_CONNECT_ARN = "arn:aws:execute-api:ap-south-1:123456789012:abc123/live/$connect"


def _connect_event(query=None, headers=None, stage_variables=None) -> dict:
    return {
        "type": "REQUEST", "methodArn": _CONNECT_ARN, "headers": headers or {}, "queryStringParameters": query,
        "stageVariables": {"bazaarWebSocketApi": "realtime", "bazaarTokenQueryParameter": "access_token"}
        if stage_variables is None else stage_variables,
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "L0SM9cOFvHcCIhw="},
    }


def test_a_websocket_connect_takes_the_token_from_its_query_parameter():
    request = authorizer_requests.read_authorizer_request(_connect_event({"access_token": "abc.def"}))
    assert (request.token, request.route_key, request.method_arn) == ("abc.def", "$connect realtime", _CONNECT_ARN)


def test_a_websocket_connect_may_carry_a_bearer_header_instead():
    event = _connect_event(None, {"Authorization": "Bearer abc.def"})
    assert authorizer_requests.read_authorizer_request(event).token == "abc.def"


def test_the_parameter_is_the_one_the_stage_names():
    event = _connect_event({"token": "abc"}, stage_variables={"bazaarWebSocketApi": "chat",
                                                              "bazaarTokenQueryParameter": "token"})
    request = authorizer_requests.read_authorizer_request(event)
    assert (request.token, request.route_key) == ("abc", "$connect chat")


@pytest.mark.parametrize(("query", "headers"), [(None, None), ({"access_token": " "}, None),
                                             ({}, {"Authorization": "Basic abc"}), ({"other": "x"}, None)])
def test_a_connect_without_credentials_has_no_token(query, headers):
    assert authorizer_requests.read_authorizer_request(_connect_event(query, headers)).token is None


def test_a_rest_request_reads_the_bearer_header_and_its_route():
    event = {"type": "REQUEST", "methodArn": "arn:aws:execute-api:r:a:api/live/GET/v1/orders/1",
             "httpMethod": "GET", "resource": "/v1/orders/{order_id}", "headers": {"authorization": "bearer t.k"},
             "queryStringParameters": {"access_token": "ignored"}, "requestContext": {"httpMethod": "GET"}}
    request = authorizer_requests.read_authorizer_request(event)
    assert (request.token, request.route_key) == ("t.k", "GET /v1/orders/{order_id}")
