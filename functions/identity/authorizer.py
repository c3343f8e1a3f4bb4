"""API Gateway REQUEST authorizer, the same in both twins: verifies the Cognito access token and
the route's roles (from the description), and hands the caller's identity to the integration."""

import os

import requests

from bazaar.identity.tokens import InvalidToken, TokenVerifier
from bazaar.platform.observability import logger
from bazaar.platform.settings import load_settings

settings = load_settings(os.environ)
_region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
verifier = TokenVerifier(
    issuer=f"https://cognito-idp.{_region}.amazonaws.com/{settings.user_pool_id}",
    client_id=settings.user_pool_client_id or "",
    fetch_jwks=lambda: requests.get(settings.user_pool_jwks_url, timeout=3).json(),
)


def _policy(principal: str, effect: str, method_arn: str, context: dict | None = None) -> dict:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}],
        },
        "context": context or {},
    }


@logger.inject_lambda_context(log_event=False)
def handler(event, context):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Exception("Unauthorized")  # API Gateway's contract for a 401
    try:
        claims = verifier.verify(token.strip())
    except InvalidToken as error:
        logger.info("token refused", extra={"reason": str(error)})
        raise Exception("Unauthorized") from None
    route = f"{event.get('httpMethod')} {event.get('resource')}"
    allowed = settings.route_roles.get(route)
    if allowed is None or not (claims.roles & frozenset(allowed)):
        logger.info("role refused", extra={"route": route, "user_id": claims.user_id})
        return _policy(claims.user_id, "Deny", event["methodArn"])
    return _policy(
        claims.user_id,
        "Allow",
        event["methodArn"],
        {"user_id": claims.user_id, "roles": ",".join(sorted(claims.roles))},
    )
