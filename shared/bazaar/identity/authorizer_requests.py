"""What the identity authorizer reads from API Gateway's two REQUEST authorizer events: a REST
API's (token in the `Authorization: Bearer` header, route `<METHOD> <resource>`) and a WebSocket
API's on `$connect` (token in a query parameter, since browsers cannot set headers on a WebSocket
upgrade, or in that header). Both end in the same verification and the same role check against
BAZAAR_ROUTE_ROLES; a WebSocket API's connect roles live there under `$connect <api name>`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Set on each WebSocket stage by both twins (infra/description/model.py keeps the same names):
# the event names the API only by its generated id, and the token's parameter is the API's choice.
WEBSOCKET_API_STAGE_VARIABLE = "bazaarWebSocketApi"
TOKEN_PARAMETER_STAGE_VARIABLE = "bazaarTokenQueryParameter"
DEFAULT_TOKEN_PARAMETER = "access_token"


@dataclass(frozen=True)
class AuthorizerRequest:
    token: str | None  # None: no credentials at all (API Gateway's 401)
    route_key: str  # the key of the roles allowed, in BAZAAR_ROUTE_ROLES
    method_arn: str


def is_websocket_connect(event: Mapping[str, Any]) -> bool:
    context = event.get("requestContext") or {}
    return context.get("eventType") == "CONNECT" and context.get("routeKey") == "$connect"


def _bearer(headers: Mapping[str, Any]) -> str | None:
    scheme, _, token = str(headers.get("authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def read_authorizer_request(event: Mapping[str, Any]) -> AuthorizerRequest:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    if not is_websocket_connect(event):
        return AuthorizerRequest(
            _bearer(headers), f"{event.get('httpMethod')} {event.get('resource')}", event["methodArn"]
        )
    stage_variables = event.get("stageVariables") or {}
    parameter = stage_variables.get(TOKEN_PARAMETER_STAGE_VARIABLE) or DEFAULT_TOKEN_PARAMETER
    query = event.get("queryStringParameters") or {}
    token = str(query.get(parameter) or "").strip() or _bearer(headers)
    api = stage_variables.get(WEBSOCKET_API_STAGE_VARIABLE) or ""
    return AuthorizerRequest(token, f"$connect {api}", event["methodArn"])


def policy(principal: str, effect: str, method_arn: str, context: dict | None = None) -> dict:
    """The authorizer's answer: an IAM policy on the one method (or $connect) asked about."""
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}],
        },
        "context": context or {},
    }
