"""The cloud twin of WebSocket APIs, on the WebSocket fixture service: the API and its three
routes, the REQUEST authorizer on $connect only with the token's query parameter as identity
source, the stage (auto-deployed, throttled, access-logged, with the authorizer's stage
variables), the invoke permissions, the management endpoint in the pushing function's
environment and ManageConnections scoped to this API's connections; cdk-nag and cfn-lint clean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cloud import tags
from tests.fixtures.websocket_service import ECHO, WEBSOCKET_SERVICE
from tests.infra.template import by_tag, resources, role_statements

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(websocket_synthesized) -> dict[str, Any]:
    return websocket_synthesized.template


def _only(template, kind: str) -> tuple[str, dict[str, Any]]:
    [(lid, resource)] = resources(template, kind).items()
    return lid, resource


def _function_id(template, name: str) -> str:
    return by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)[name][0]


def test_the_websocket_stack_passes_cdk_nag(websocket_synthesized):
    report = json.loads((websocket_synthesized.outdir / "validation-report.json").read_text())
    assert [(p["pluginName"], p["conclusion"], p["violations"]) for p in report["pluginReports"]] == [
        ("AwsSolutions", "success", [])
    ]


def test_the_websocket_stack_passes_cfn_lint(websocket_synthesized):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(websocket_synthesized.template_path, config=ManualArgs(ignore_checks=["W3005"]))
    assert [str(m) for m in matches] == []


def test_one_websocket_api_selecting_routes_by_action(template):
    _, api = _only(template, "AWS::ApiGatewayV2::Api")
    props = api["Properties"]
    assert props["ProtocolType"] == "WEBSOCKET"
    assert props["RouteSelectionExpression"] == "$request.body.action"
    assert props["Tags"][tags.WEBSOCKET_API] == ECHO


def test_each_route_integrates_its_function_and_only_connect_is_authorized(template):
    api_id, _ = _only(template, "AWS::ApiGatewayV2::Api")
    authorizer_id, _ = _only(template, "AWS::ApiGatewayV2::Authorizer")
    spec = WEBSOCKET_SERVICE.websocket_api(ECHO)
    found = {}
    for route in resources(template, "AWS::ApiGatewayV2::Route").values():
        props = route["Properties"]
        assert props["ApiId"] == {"Ref": api_id}
        integration_id = props["Target"]["Fn::Join"][1][1]["Ref"]
        integration = template["Resources"][integration_id]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        uri = json.dumps(integration["IntegrationUri"])
        function = next(name for name in spec.route_functions.values() if _function_id(template, name) in uri)
        found[props["RouteKey"]] = (function, props["AuthorizationType"], props.get("AuthorizerId"))
    assert found == {
        "$connect": (spec.connect, "CUSTOM", {"Ref": authorizer_id}),
        "$disconnect": (spec.disconnect, "NONE", None),
        "$default": (spec.default, "NONE", None),
    }


def test_the_authorizer_is_the_described_function_with_the_query_parameter_as_identity_source(template):
    _, authorizer = _only(template, "AWS::ApiGatewayV2::Authorizer")
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "REQUEST"
    assert props["IdentitySource"] == ["route.request.querystring.access_token"]
    assert _function_id(template, "ws-authorizer") in json.dumps(props["AuthorizerUri"])


def test_api_gateway_may_invoke_each_route_function_and_the_authorizer(template):
    invoked = set()
    for permission in resources(template, "AWS::Lambda::Permission").values():
        props = permission["Properties"]
        if props["Principal"] == "apigateway.amazonaws.com":
            invoked.add(props["FunctionName"]["Fn::GetAtt"][0])
    spec = WEBSOCKET_SERVICE.websocket_api(ECHO)
    assert {_function_id(template, f) for f in (*spec.route_functions.values(), spec.authorizer)} <= invoked


def test_the_stage_is_auto_deployed_throttled_logged_and_names_the_api_for_the_authorizer(template):
    _, stage = _only(template, "AWS::ApiGatewayV2::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "dev" and props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] == WEBSOCKET_SERVICE.api.throttle_rate_per_second
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] == WEBSOCKET_SERVICE.api.throttle_burst
    log_group = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert "$context.connectionId" in props["AccessLogSettings"]["Format"]
    assert props["StageVariables"] == {"bazaarWebSocketApi": ECHO, "bazaarTokenQueryParameter": "access_token"}


def test_the_authorizer_reads_the_connect_roles(template):
    _, function = by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)["ws-authorizer"]
    roles = json.loads(function["Properties"]["Environment"]["Variables"]["BAZAAR_ROUTE_ROLES"])
    assert roles == {"$connect echo": ["customer", "seller"]}


def test_only_the_pushing_function_gets_the_endpoint_and_manage_connections_on_this_api(template):
    api_id, _ = _only(template, "AWS::ApiGatewayV2::Api")
    functions = by_tag(template, "AWS::Lambda::Function", tags.FUNCTION)
    for name, (_, function) in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert ("BAZAAR_WEBSOCKET_ECHO_ENDPOINT" in variables) == (name == "ws-default"), name
    endpoint = json.dumps(functions["ws-default"][1]["Properties"]["Environment"]["Variables"]
                          ["BAZAAR_WEBSOCKET_ECHO_ENDPOINT"])
    assert "https://" in endpoint and api_id in endpoint and ".execute-api." in endpoint
    grants = [(role, statement) for role in resources(template, "AWS::IAM::Role")
              for statement in role_statements(template, role)
              if "execute-api:ManageConnections" in json.dumps(statement["Action"])]
    [(role, statement)] = grants
    assert role == functions["ws-default"][1]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert statement["Action"] == "execute-api:ManageConnections" and statement["Effect"] == "Allow"
    resource = statement["Resource"]["Fn::Join"][1]
    assert {"Ref": api_id} in resource and resource[-1] == "/dev/*/@connections/*"


def test_the_stack_outputs_the_wss_url(template):
    [output] = [o for key, o in template["Outputs"].items() if key.startswith("WebSocketUrl")]
    assert output["Value"]["Fn::Join"][1][0] == "wss://"
