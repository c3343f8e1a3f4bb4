"""The REST API, in a nested stack of its own: one Lambda proxy integration per `SERVICE.routes`,
one REQUEST authorizer in front of every non-public route, API Gateway's own errors in Bazaar's
JSON envelope with the security headers, a CORS preflight on every routed path, and the web ACL
(infra/cloud/waf.py) on the stage.

Why nested: CloudFormation refuses a stack of more than 500 resources, and the API (a resource,
a method and a preflight per path, responses, validators, deployment, stage) is the largest
group of them. The functions stay in the parent stack; the nested stack receives their ARNs as
parameters, and each function's invoke permission (in the parent) names the API by an output of
the nested stack."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, NestedStack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.cloud.waf import build_web_acl
from infra.description.edge import CORS_ALLOWED_HEADERS, CORS_MAX_AGE_SECONDS, SECURITY_HEADERS
from infra.description.model import GatewayResponse, Service

ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")
PREFLIGHT_STATUS = 204
# Set by the preflight's response template, for an allowed origin only.
CORS_RESPONSE_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
)


@dataclass
class RestApi:
    api: apigateway.RestApi
    # (method, path) -> the CDK method, for acknowledging per-method findings.
    methods: dict[tuple[str, str], apigateway.Method] = field(default_factory=dict)
    # path -> its OPTIONS (CORS preflight) method.
    preflights: dict[str, apigateway.Method] = field(default_factory=dict)
    authorizer: apigateway.RequestAuthorizer | None = None


class ApiStack(NestedStack):
    """The nested stack holding the REST API and its web ACL."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: Service,
        stage: str,
        functions: dict[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id, description=f"{service.name} ({stage}) REST API and its web ACL")
        self.rest = build_api(self, service, stage, functions)
        self.web_acl: wafv2.CfnWebACL = build_web_acl(self, service, stage, self.rest.api.deployment_stage)


def static_header_value(value: str) -> str:
    """A literal in an API Gateway header mapping: the value between a pair of single quotes
    (API Gateway takes everything between the first and the last quote, so a CSP's own quotes
    need no escaping)."""
    return f"'{value}'"


def gateway_response_body(response: GatewayResponse) -> str:
    """Bazaar's error envelope. `$context.requestId` is substituted by API Gateway; the static
    parts are JSON-encoded so a quote in a message cannot break the document."""
    return (
        '{"error": {"code": ' + json.dumps(response.code) + ', "message": ' + json.dumps(response.message)
        + ', "request_id": "$context.requestId"}}'
    )


def gateway_response_headers() -> dict[str, str]:
    """What every gateway-originated answer carries: its request id, the security headers, and
    `Vary: Origin`. Never Access-Control-Allow-Origin: a gateway response can only map a fixed
    value or a request header, not "the origin if it is in the allow-list"."""
    return {
        "X-Request-Id": "context.requestId",
        **{name: static_header_value(value) for name, value in SECURITY_HEADERS.items()},
        "Vary": static_header_value("Origin"),
    }


def preflight_template(allowed_origins: tuple[str, ...], methods: tuple[str, ...]) -> str:
    """The preflight's integration-response template (VTL): for an Origin header in the allow-list,
    the Access-Control-* headers through `$context.responseOverride.header`; for any other origin
    (or none) nothing, so the browser refuses the call. Each header is overridden once, at the end
    (API Gateway answers 5XX when a template overrides one header twice). The body is empty."""
    allowed = ", ".join(json.dumps(origin) for origin in allowed_origins)
    allow_methods = ",".join(sorted({*methods, "OPTIONS"}))
    values = {
        "Access-Control-Allow-Origin": "$origin",
        "Access-Control-Allow-Methods": allow_methods,
        "Access-Control-Allow-Headers": ",".join(CORS_ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
    }
    overrides = "\n".join(
        f'#set($context.responseOverride.header.{name} = "{values[name]}")' for name in CORS_RESPONSE_HEADERS
    )
    # Header names arrive as the client sent them: HTTP/2 clients send "origin".
    return (
        "#set($headers = $input.params().header)\n"
        "#set($origin = $headers.get('Origin'))\n"
        "#if(\"$!origin\" == \"\")#set($origin = $headers.get('origin'))#end\n"
        f"#set($allowed = [{allowed}])\n"
        "#if(\"$!origin\" != \"\" && $allowed.contains($origin))\n"
        f"{overrides}\n"
        "#end\n"
    )


def _add_preflight(
    resource: apigateway.IResource, allowed_origins: tuple[str, ...], methods: tuple[str, ...]
) -> apigateway.Method:
    static = {**SECURITY_HEADERS, "Vary": "Origin"}
    integration = apigateway.MockIntegration(
        # A preflight has no body and usually no Content-Type (API Gateway then takes
        # application/json); its one integration response answers whatever the mock returns.
        request_templates={"application/json": json.dumps({"statusCode": PREFLIGHT_STATUS})},
        integration_responses=[
            apigateway.IntegrationResponse(
                status_code=str(PREFLIGHT_STATUS),
                response_parameters={
                    f"method.response.header.{name}": static_header_value(value) for name, value in static.items()
                },
                response_templates={"application/json": preflight_template(allowed_origins, methods)},
            )
        ],
    )
    return resource.add_method(
        "OPTIONS",
        integration,
        # A browser sends a preflight without credentials: it can never carry a token.
        authorization_type=apigateway.AuthorizationType.NONE,
        method_responses=[
            apigateway.MethodResponse(
                status_code=str(PREFLIGHT_STATUS),
                # Declared so the template may set them; `False`: not required on every answer.
                response_parameters={
                    f"method.response.header.{name}": False for name in (*static, *CORS_RESPONSE_HEADERS)
                },
            )
        ],
    )


def build_api(
    scope: Construct, service: Service, stage: str, functions: dict[str, lambda_.Function]
) -> RestApi:
    access_logs = logs.LogGroup(scope, "ApiAccessLogs", retention=ACCESS_LOG_RETENTION)
    api = apigateway.RestApi(
        scope,
        "Api",
        rest_api_name=f"{service.name}-{stage}",
        description=f"{service.name} REST API ({stage})",
        endpoint_types=[apigateway.EndpointType.REGIONAL],
        cloud_watch_role=True,
        deploy_options=apigateway.StageOptions(
            stage_name=stage,
            throttling_rate_limit=service.api.throttle_rate_per_second,
            throttling_burst_limit=service.api.throttle_burst,
            access_log_destination=apigateway.LogGroupLogDestination(access_logs),
            access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                caller=False,
                http_method=True,
                ip=True,
                protocol=True,
                request_time=True,
                resource_path=True,
                response_length=True,
                status=True,
                user=False,
            ),
            tracing_enabled=True,
            logging_level=apigateway.MethodLoggingLevel.INFO,
            metrics_enabled=True,
            # Request and response bodies carry personal data; never copy them into logs.
            data_trace_enabled=False,
        ),
    )
    # The parent stack outputs the URL as `ApiUrl`; drop CDK's automatic (hash-named) duplicate.
    api.node.try_remove_child("Endpoint")
    for response in service.api.gateway_responses:
        api.add_gateway_response(
            f"GatewayResponse-{response.kind}",
            type=apigateway.ResponseType.of(response.kind),
            status_code=str(response.status),
            response_headers={**gateway_response_headers(), **(
                {"Retry-After": static_header_value(str(response.retry_after_seconds))}
                if response.retry_after_seconds is not None else {})},
            templates={"application/json": gateway_response_body(response)},
        )

    validate_parameters = api.add_request_validator(
        "ValidateParameters", validate_request_parameters=True, validate_request_body=False
    )
    validate_body = api.add_request_validator(
        "ValidateParametersAndBody", validate_request_parameters=True, validate_request_body=True
    )
    result = RestApi(api=api)
    integrations: dict[str, apigateway.LambdaIntegration] = {}
    for fn, route in service.routes:
        # One invoke permission per function for this API (not one per method and path): a stack
        # holds at most 500 resources, and each function re-checks its own routes' roles anyway.
        integration = integrations.setdefault(
            fn.name, apigateway.LambdaIntegration(functions[fn.name], proxy=True, scope_permission_to_method=False)
        )
        auth: dict[str, Any]  # add_method's authorization keywords
        if route.is_public:
            auth = {"authorization_type": apigateway.AuthorizationType.NONE}
        else:
            if result.authorizer is None:
                result.authorizer = apigateway.RequestAuthorizer(
                    scope,
                    "Authorizer",
                    handler=functions[service.api.authorizer],
                    identity_sources=[apigateway.IdentitySource.header("Authorization")],
                    # No caching: a logout (token revocation) must take effect at once.
                    results_cache_ttl=Duration.seconds(0),
                )
            auth = {
                "authorization_type": apigateway.AuthorizationType.CUSTOM,
                "authorizer": result.authorizer,
            }
        resource = api.root.resource_for_path(route.path)
        result.methods[(route.method, route.path)] = resource.add_method(
            route.method,
            integration,
            request_validator=validate_body if route.method in _BODY_METHODS else validate_parameters,
            request_parameters={
                f"method.request.path.{name}": True for name in _PATH_PARAMETER.findall(route.path)
            }
            or None,
            **auth,
        )
    for path, methods in service.methods_by_path.items():
        result.preflights[path] = _add_preflight(
            api.root.resource_for_path(path), service.cors_allowed_origins, methods
        )
    return result
