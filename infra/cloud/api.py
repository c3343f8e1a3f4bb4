"""The REST API: one Lambda proxy integration per `SERVICE.routes`, one REQUEST authorizer in
front of every non-public route, and API Gateway's own errors in Bazaar's JSON envelope."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.description.model import GatewayResponse, Service

ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")


@dataclass
class RestApi:
    api: apigateway.RestApi
    # (method, path) -> the CDK method, for acknowledging per-method findings.
    methods: dict[tuple[str, str], apigateway.Method] = field(default_factory=dict)
    authorizer: apigateway.RequestAuthorizer | None = None


def gateway_response_body(response: GatewayResponse) -> str:
    """Bazaar's error envelope. `$context.requestId` is substituted by API Gateway; the static
    parts are JSON-encoded so a quote in a message cannot break the document."""
    return (
        '{"error": {"code": ' + json.dumps(response.code) + ', "message": ' + json.dumps(response.message)
        + ', "request_id": "$context.requestId"}}'
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
    # The stack outputs the URL as `ApiUrl`; drop CDK's automatic (hash-named) duplicate.
    api.node.try_remove_child("Endpoint")
    for response in service.api.gateway_responses:
        api.add_gateway_response(
            f"GatewayResponse-{response.kind}",
            type=apigateway.ResponseType.of(response.kind),
            status_code=str(response.status),
            response_headers={"X-Request-Id": "context.requestId"},
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
    return result
