"""The WebSocket APIs: one API Gateway WebSocket API per `SERVICE.websocket_apis`, with `$connect`
behind the Lambda REQUEST authorizer (identity source: the token's query parameter), `$disconnect`
and `$default` as Lambda proxy integrations, one auto-deployed stage named like the REST stage,
throttled and access-logged, and `execute-api:ManageConnections` on the API's connections for
every function that `pushes_to` it.

Built in two steps because the functions' environment names each API's management endpoint
(BAZAAR_WEBSOCKET_<NAME>_ENDPOINT) while the routes need the functions: `declare_websocket_apis`
before the functions, `build_websocket_apis` after them. CloudFormation sees no cycle: the API
and its stage depend on no function."""

from __future__ import annotations

from dataclasses import dataclass, field

import jsii
from aws_cdk import Stack, Tags
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cloud import tags
from infra.description.model import Service, WebSocketApi

ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# What a function that pushes to an API may do to its connections (post, get, delete).
MANAGE_CONNECTIONS = "execute-api:ManageConnections"
ROUTE_SELECTION_EXPRESSION = "$request.body.action"


@dataclass
class CloudWebSocketApi:
    spec: WebSocketApi
    api: apigwv2.WebSocketApi
    stage: apigwv2.WebSocketStage
    access_logs: logs.LogGroup
    authorizer: authorizers.WebSocketLambdaAuthorizer | None = None
    routes: dict[str, apigwv2.WebSocketRoute] = field(default_factory=dict)

    @property
    def management_endpoint(self) -> str:
        """`https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` (the stage's callback URL)."""
        return self.stage.callback_url

    def connections_arn(self) -> str:
        """Every connection of this API's stage, for any management method (POST, GET, DELETE)."""
        stack = Stack.of(self.api)
        return (
            f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}:"
            f"{self.api.api_id}/{self.stage.stage_name}/*/@connections/*"
        )


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """The stage's access log settings (an interface in CDK's Python binding, not a struct)."""

    def __init__(self, log_group: logs.LogGroup):
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(_ACCESS_LOG_FORMAT)


def declare_websocket_apis(scope: Construct, service: Service, stage: str) -> dict[str, CloudWebSocketApi]:
    declared = {}
    for spec in service.websocket_apis:
        api = apigwv2.WebSocketApi(
            scope,
            f"WebSocketApi-{spec.name}",
            api_name=f"{service.name}-{spec.name}-{stage}",
            description=f"{service.name} {spec.name} WebSocket API ({stage}): {spec.purpose}",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
        )
        Tags.of(api).add(tags.WEBSOCKET_API, spec.name)
        access_logs = logs.LogGroup(scope, f"WebSocketAccessLogs-{spec.name}", retention=ACCESS_LOG_RETENTION)
        web_socket_stage = apigwv2.WebSocketStage(
            scope,
            f"WebSocketStage-{spec.name}",
            web_socket_api=api,
            stage_name=stage,
            auto_deploy=True,
            # The default route throttling of every route: the REST API's rate and burst.
            throttle=apigwv2.ThrottleSettings(
                rate_limit=service.api.throttle_rate_per_second, burst_limit=service.api.throttle_burst
            ),
            access_log_settings=_AccessLogs(access_logs),
            # How the shared identity authorizer knows which API and which query parameter.
            stage_variables=spec.stage_variables,
        )
        declared[spec.name] = CloudWebSocketApi(spec, api, web_socket_stage, access_logs)
    return declared


def build_websocket_apis(
    service: Service, apis: dict[str, CloudWebSocketApi], functions: dict[str, lambda_.Function]
) -> None:
    for spec in service.websocket_apis:
        cloud = apis[spec.name]
        cloud.authorizer = authorizers.WebSocketLambdaAuthorizer(
            f"Authorizer-{spec.name}",
            functions[spec.authorizer],
            # API Gateway answers 401 without calling the authorizer when the parameter is missing.
            identity_source=[spec.identity_source],
        )
        for route_key, function in spec.route_functions.items():
            cloud.routes[route_key] = cloud.api.add_route(
                route_key,
                integration=integrations.WebSocketLambdaIntegration(f"Integration-{spec.name}-{route_key}",
                                                                    functions[function]),
                authorizer=cloud.authorizer if route_key == "$connect" else None,
            )
    for fn in service.functions:
        for name in fn.pushes_to:
            functions[fn.name].add_to_role_policy(
                iam.PolicyStatement(actions=[MANAGE_CONNECTIONS], resources=[apis[name].connections_arn()])
            )


# One JSON line per connection event: who, which route, what happened (no bodies: they carry
# personal data).
_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","connectionId":"$context.connectionId",'
    '"routeKey":"$context.routeKey","eventType":"$context.eventType","status":"$context.status",'
    '"requestTime":"$context.requestTime","ip":"$context.identity.sourceIp",'
    '"principalId":"$context.authorizer.principalId","error":"$context.error.message",'
    '"authorizerError":"$context.authorizer.error","integrationError":"$context.integration.error"}'
)
