"""API Gateway REQUEST authorizer, the same in both twins, for the REST API's routes and the
WebSocket APIs' $connect: verifies the Cognito access token, checks that its session is still open
(no logout, no suspension since it began) and that the user's current role may call the route or
connect (from the description), and hands the caller's Bazaar user id and roles to the integration.
An admin without a second factor reaches only the routes open to every role: on any other route
the request goes on with no roles and the reason, so the API answers 403 MFA_REQUIRED (a Deny
could only give API Gateway's bare 403); a WebSocket connect is denied."""


from bazaar.identity import services
from bazaar.identity.authorizer_requests import is_websocket_connect, policy, read_authorizer_request
from bazaar.identity.adapters.dynamodb import DynamoDbUsers
from bazaar.identity.domain import SessionRejected, second_factor_missing
from bazaar.platform.authorizer_context import SECOND_FACTOR_CONTEXT_KEY, SECOND_FACTOR_REQUIRED
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


@logger.inject_lambda_context(log_event=False)
def handler(event, context):
    request = read_authorizer_request(event)
    if not request.token:
        raise Exception("Unauthorized")  # API Gateway's contract for a 401
    try:
        claims = verifier.verify(request.token)
        user, roles = services.authorize(claims, users=users, user_id_for_sub=_user_id_for_sub)
    except (InvalidToken, SessionRejected) as error:
        logger.info("token refused", extra={"reason": str(error)})
        raise Exception("Unauthorized") from None
    allowed = settings.route_roles.get(request.route_key)
    if allowed is None or not (roles & frozenset(allowed)):
        logger.info("role refused", extra={"route": request.route_key, "user_id": user.user_id})
        return policy(user.user_id, "Deny", request.method_arn)
    if second_factor_missing(user, frozenset(allowed)):
        logger.info("second factor missing", extra={"route": request.route_key, "user_id": user.user_id})
        if is_websocket_connect(event):
            return policy(user.user_id, "Deny", request.method_arn)
        return policy(user.user_id, "Allow", request.method_arn,
                      {"user_id": user.user_id, "roles": "", SECOND_FACTOR_CONTEXT_KEY: SECOND_FACTOR_REQUIRED})
    return policy(
        user.user_id,
        "Allow",
        request.method_arn,
        {"user_id": user.user_id, "roles": ",".join(sorted(roles))},
    )
