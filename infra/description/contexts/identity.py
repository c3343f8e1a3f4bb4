from infra.description.model import Function

FUNCTIONS = (
    Function(
        name="identity-authorizer",
        handler="functions.identity.authorizer.handler",
        description="API Gateway REQUEST authorizer: Cognito token, revocation and route roles.",
        memory_mb=512,
        timeout_seconds=5,
        uses_user_pool=True,
    ),
)
