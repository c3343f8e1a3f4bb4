"""The directory on Cognito: accounts (email as username), one group per role, sign-in with
USER_PASSWORD_AUTH, its SOFTWARE_TOKEN_MFA challenge, TOTP enrolment (AssociateSoftwareToken,
VerifySoftwareToken, SetUserMFAPreference) and refresh. Cognito's own refusals are turned into the
domain's errors; nothing from Cognito's messages reaches a client."""

from __future__ import annotations

from botocore.exceptions import ClientError

from bazaar.identity.domain import (
    DirectoryChallenge,
    EmailTaken,
    EnrolmentCodeMismatch,
    InvalidCredentials,
    MfaCodeInvalid,
    MfaSessionInvalid,
    PasswordPolicyViolated,
    Role,
    SessionRejected,
    Tokens,
)
from bazaar.platform.errors import BazaarError, DependencyUnavailable

_REFUSED_SIGN_IN = {"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException",
                    "PasswordResetRequiredException"}


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


class CognitoDirectory:
    def __init__(self, client, user_pool_id: str, client_id: str):
        self._cognito = client
        self._pool = user_pool_id
        self._client_id = client_id

    def create_account(self, email: str, password: str, role: Role) -> str:
        try:
            created = self._cognito.admin_create_user(
                UserPoolId=self._pool,
                Username=email,
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
                MessageAction="SUPPRESS",
            )
        except ClientError as error:
            if _code(error) in ("UsernameExistsException", "AliasExistsException"):
                raise EmailTaken() from None
            if _code(error) == "InvalidParameterException":
                # Our pattern should have caught it; the pool's word is final, and it is the
                # caller's input, not our failure.
                raise BazaarError("The email address is not valid.", code="VALIDATION_FAILED",
                                  details=[{"field": "email", "issue": "not a valid email address"}]) from None
            raise
        sub = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        try:
            self._cognito.admin_set_user_password(UserPoolId=self._pool, Username=email, Password=password,
                                                  Permanent=True)
            self._cognito.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=role.value)
        except BaseException as error:
            self.delete_account(email)
            if isinstance(error, ClientError) and _code(error) == "InvalidPasswordException":
                # The domain checked the same rules first; this is the pool agreeing.
                raise PasswordPolicyViolated("The password breaks the pool's policy.",
                                             details=[{"field": "password", "issue": "policy"}]) from None
            raise
        return sub

    def delete_account(self, email: str) -> None:
        try:
            self._cognito.admin_delete_user(UserPoolId=self._pool, Username=email)
        except ClientError as error:
            if _code(error) != "UserNotFoundException":
                raise

    def sign_in(self, email: str, password: str) -> Tokens | DirectoryChallenge:
        try:
            result = self._cognito.initiate_auth(
                ClientId=self._client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as error:
            if _code(error) in _REFUSED_SIGN_IN or _code(error) == "InvalidParameterException":
                raise InvalidCredentials() from None
            if _code(error) == "TooManyRequestsException":
                raise DependencyUnavailable("Sign-in is busy; retry shortly.") from None
            raise
        if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
            return DirectoryChallenge(directory_session=result["Session"])
        return _tokens(result)

    def answer_mfa(self, email: str, directory_session: str, code: str) -> Tokens:
        try:
            result = self._cognito.respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=directory_session,
                ChallengeResponses={"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": code},
            )
        except ClientError as error:
            if _code(error) in ("CodeMismatchException", "ExpiredCodeException"):
                raise MfaCodeInvalid() from None
            # NotAuthorizedException: Cognito's session expired or was spent (moto answers
            # ResourceNotFoundException for an unknown one).
            if _code(error) in _REFUSED_SIGN_IN or _code(error) in ("ResourceNotFoundException",
                                                                  "InvalidParameterException"):
                raise MfaSessionInvalid() from None
            if _code(error) == "TooManyRequestsException":
                raise DependencyUnavailable("Sign-in is busy; retry shortly.") from None
            raise
        return _tokens(result)

    def associate_totp(self, access_token: str) -> str:
        try:
            return self._cognito.associate_software_token(AccessToken=access_token)["SecretCode"]
        except ClientError as error:
            if _code(error) == "NotAuthorizedException":
                raise SessionRejected() from None
            raise

    def verify_totp(self, access_token: str, code: str) -> None:
        try:
            self._cognito.verify_software_token(AccessToken=access_token, UserCode=code,
                                                FriendlyDeviceName="authenticator")
        except ClientError as error:
            if _code(error) in ("CodeMismatchException", "EnableSoftwareTokenMFAException",
                                "InvalidParameterException"):
                raise EnrolmentCodeMismatch() from None
            if _code(error) == "NotAuthorizedException":
                raise SessionRejected() from None
            raise
        # TOTP becomes the factor Cognito asks for at every sign-in from now on.
        self._cognito.set_user_mfa_preference(
            AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )

    def refresh(self, refresh_token: str) -> Tokens:
        try:
            result = self._cognito.initiate_auth(
                ClientId=self._client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except ClientError as error:
            if _code(error) in _REFUSED_SIGN_IN or _code(error) in ("InvalidParameterException",
                                                                  "ResourceNotFoundException"):
                raise SessionRejected() from None
            raise
        return _tokens(result)

    def sign_out_everywhere(self, email: str) -> None:
        self._cognito.admin_user_global_sign_out(UserPoolId=self._pool, Username=email)

    def move_to_group(self, email: str, old: Role, new: Role) -> None:
        self._cognito.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=new.value)
        self._cognito.admin_remove_user_from_group(UserPoolId=self._pool, Username=email, GroupName=old.value)

    def set_enabled(self, email: str, enabled: bool) -> None:
        if enabled:
            self._cognito.admin_enable_user(UserPoolId=self._pool, Username=email)
        else:
            self._cognito.admin_disable_user(UserPoolId=self._pool, Username=email)


def _tokens(result: dict) -> Tokens:
    auth = result.get("AuthenticationResult")
    if not auth:
        # A challenge (e.g. NEW_PASSWORD_REQUIRED) Bazaar's accounts never get: refuse, generically.
        raise InvalidCredentials()
    return Tokens(
        access_token=auth["AccessToken"],
        id_token=auth["IdToken"],
        refresh_token=auth.get("RefreshToken"),
        expires_in=int(auth.get("ExpiresIn", 3600)),
    )
