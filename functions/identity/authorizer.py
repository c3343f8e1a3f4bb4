"""API Gateway REQUEST authorizer, the same in both twins: verifies the Cognito access token,
checks that its session is still open (no logout, no suspension since it began) and that the
user's current role may call the route (from the description), and hands the caller's Bazaar
user id and role to the integration."""


from bazaar.identity import services
from bazaar.identity.adapters.dynamodb import DynamoDbUsers
from bazaar.identity.domain import SessionRejected
from bazaar.identity.tokens import InvalidToken, pool_verifier
from bazaar.platform.observability import logger
from bazaar.platform.settings import from_environment
from bazaar.identity.settings import IdentitySettings

settings = from_environment(IdentitySettings)
verifier = pool_verifier(settings.region, settings.user_pool_id, settings.user_pool_client_id,
                         settings.user_pool_jwks_url)
users = DynamoDbUsers(settings.table("identity"))
# A sub maps to one user id for ever, so the mapping may be remembered; the user and session
# (which do change) are read on every request.
_user_ids: dict[str, str] = {}


def _user_id_for_sub(sub: str) -> str | None:
    if sub not in _user_ids:
        user_id = users.user_id_for_sub(sub)
        if user_id is None:
            return None
        _user_ids[sub] = user_id
    return _user_ids[sub]


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
        user, roles = services.authorize(claims, users=users, user_id_for_sub=_user_id_for_sub)
    except (InvalidToken, SessionRejected) as error:
        logger.info("token refused", extra={"reason": str(error)})
        raise Exception("Unauthorized") from None
    route = f"{event.get('httpMethod')} {event.get('resource')}"
    allowed = settings.route_roles.get(route)
    if allowed is None or not (roles & frozenset(allowed)):
        logger.info("role refused", extra={"route": route, "user_id": user.user_id})
        return _policy(user.user_id, "Deny", event["methodArn"])
    return _policy(
        user.user_id,
        "Allow",
        event["methodArn"],
        {"user_id": user.user_id, "roles": ",".join(sorted(roles))},
    )
