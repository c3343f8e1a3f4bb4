"""Identity API: register, login (and its one-time-code step), refresh, logout, /v1/me, enrolling
an authenticator app, and a scout's referral."""


from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler import Response, content_types

from bazaar.identity import services, wiring
from bazaar.identity.domain import LoginThrottlePolicy, PasswordPolicy, ReferralSource, Role, Tokens, referral_link
from bazaar.identity.schemas import (
    LoginIn, LoginMfaIn, MfaStatusOut, ReferralOut, RefreshIn, RegisterIn, SignInChallengeOut, TokensOut,
    TotpEnrolmentOut, TotpVerifyIn, UserOut,
)
from bazaar.platform.clock import utc_now
from bazaar.platform.errors import NotFound
from bazaar.platform.http import HttpApi
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.settings import from_environment
from bazaar.identity.settings import IdentityApiSettings

settings = from_environment(IdentityApiSettings)
api = HttpApi(settings)
app = api.app
identity = wiring.build(settings)
password_policy = PasswordPolicy()
throttle_policy = LoginThrottlePolicy()
referral_link_base = settings.referral_link_base


@app.post("/v1/auth/register", summary="Create a customer, seller or scout account",
          responses={201: {"description": "Created"}, 409: {"description": "EMAIL_ALREADY_REGISTERED"}})
def register(body: RegisterIn) -> Response[UserOut]:
    user = services.register(
        services.NewAccount(
            email=body.email, password=body.password, name=body.name, role=Role(body.role),
            referral_code=body.referral_code,
            referral_source=ReferralSource(body.referral_source) if body.referral_source else None,
        ),
        users=identity.users, directory=identity.directory, policy=password_policy, now=utc_now,
    )
    return Response(201, content_types.APPLICATION_JSON, UserOut.of(user))


ALREADY_ENROLLED: dict[int, OpenAPIResponse] = {409: {"description": "MFA_ALREADY_ENABLED"}}


def _source_ip() -> str:
    return app.current_event.request_context.identity.source_ip or "unknown"


@app.post("/v1/auth/login", summary="Sign in: tokens, or a one-time-code challenge", responses={
    200: {"description": "The tokens, or the challenge POST /v1/auth/login/mfa completes"},
    401: {"description": "INVALID_CREDENTIALS"}, 403: {"description": "ACCOUNT_SUSPENDED"}})
def login(body: LoginIn) -> TokensOut | SignInChallengeOut:
    answer = services.login(
        body.email, body.password, _source_ip(),
        users=identity.users, directory=identity.directory, failures=identity.failed_logins,
        verify=identity.verifier.verify, policy=throttle_policy, session_days=wiring.SESSION_DAYS, now=utc_now,
    )
    return TokensOut.of(answer) if isinstance(answer, Tokens) else SignInChallengeOut.of(answer)


@app.post("/v1/auth/login/mfa", summary="Complete a sign-in with the authenticator's code", responses={
    200: {"description": "The tokens"},
    401: {"description": "MFA_CODE_INVALID (the challenge is spent) or MFA_SESSION_INVALID"},
    403: {"description": "ACCOUNT_SUSPENDED"}})
def login_mfa(body: LoginMfaIn) -> TokensOut:
    tokens = services.complete_mfa_login(
        body.session, body.code, _source_ip(),
        users=identity.users, directory=identity.directory, failures=identity.failed_logins,
        verify=identity.verifier.verify, policy=throttle_policy, session_days=wiring.SESSION_DAYS, now=utc_now,
    )
    return TokensOut.of(tokens)


@app.post("/v1/me/mfa/totp", summary="Enrol an authenticator app: its secret and otpauth:// address",
          responses={200: {"description": "The secret and its otpauth:// address"}, **ALREADY_ENROLLED})
def enrol_totp() -> TotpEnrolmentOut:
    enrolment = services.begin_totp_enrolment(api.caller.user_id, api.access_token, users=identity.users,
                                              directory=identity.directory)
    return TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@app.post("/v1/me/mfa/totp/verify", summary="Confirm the authenticator with its first code",
          responses={200: {"description": "The account's second factor, now on"}, **ALREADY_ENROLLED})
def verify_totp(body: TotpVerifyIn) -> MfaStatusOut:
    user = services.confirm_totp_enrolment(api.caller.user_id, api.access_token, body.code,
                                           users=identity.users, directory=identity.directory)
    return MfaStatusOut(mfa_enabled=user.mfa_enabled, method="totp" if user.mfa_enabled else None)


@app.post("/v1/auth/refresh", summary="Refresh the access and id tokens", responses={
    200: {"description": "New access and id tokens"},
    401: {"description": "UNAUTHORIZED: the session was ended or the token is not valid"},
    403: {"description": "ACCOUNT_SUSPENDED"}})
def refresh(body: RefreshIn) -> TokensOut:
    tokens = services.refresh(body.refresh_token, users=identity.users, directory=identity.directory,
                              verify=identity.verifier.verify)
    return TokensOut.of(tokens, with_refresh=False)


@app.post("/v1/auth/logout", summary="Sign out everywhere", responses={204: {"description": "Signed out"}})
def logout():
    services.logout(api.caller.user_id, users=identity.users, directory=identity.directory, now=utc_now)
    return Response(204, content_types.APPLICATION_JSON, "")


@app.get("/v1/me", summary="The caller's own account",
         responses={200: {"description": "The account"}, 404: {"description": "NOT_FOUND: the account is gone"}})
def me() -> UserOut:
    return UserOut.of(services.me(api.caller.user_id, users=identity.users))


@app.get("/v1/scouts/me/referral", summary="The scout's referral code and shareable link",
         responses={200: {"description": "The code and link"}, 404: {"description": "NOT_FOUND: no referral code yet"}})
def referral() -> ReferralOut:
    user = services.me(api.caller.user_id, users=identity.users)
    if user.referral_code is None:
        raise NotFound("No referral code for this account.")
    return ReferralOut(referral_code=user.referral_code,
                       referral_link=referral_link(referral_link_base, user.referral_code))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
