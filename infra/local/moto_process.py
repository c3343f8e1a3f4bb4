"""moto's server in a process of its own, one per local stack.

moto keeps its state per process, so two stacks in one process (a test's and the session's)
would share tables and queues; a process each keeps them apart, and its memory (moto's grows
with use: docs/local-twin.md, 'Server and endpoints') goes back when the stack stops.

    python -m infra.local.moto_process --port 5100 [--lambda-endpoint http://127.0.0.1:8000/_local/functions]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

_dynamodb_lock = threading.RLock()


def serialise_dynamodb() -> None:
    """moto deep-copies a whole table per transaction with no lock; concurrent transactions then
    fail with 500s or, rarely, half-apply (measured: docs/local-twin.md, 'DynamoDB'). DynamoDB itself
    serialises conflicting writes, so one lock around moto's DynamoDB handlers changes nothing a client
    can observe except that moto stops breaking atomicity. The Streams handler takes the same lock, so
    a stream read never lands inside a transaction."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        _serialise(handler)
    _read_the_live_shard()


def _serialise(handler) -> None:
    original = handler.call_action

    def call_action(self, *args, **kwargs):
        with _dynamodb_lock:
            return original(self, *args, **kwargs)

    handler.call_action = call_action  # the deliberate patch above


def _read_the_live_shard() -> None:
    """moto applies a transaction's puts (appending their stream records) before it checks the
    conditions, and undoes a cancelled one by putting back a copy of the table taken before it. A
    shard iterator holds the shard object it was made from, so an iterator made before the
    transaction read the discarded copy: the cancelled records, which DynamoDB never writes, and,
    since the restored shard gives the next write the undone record's sequence number, reading on
    after that number skipped the next real write. DynamoDB's iterators address a position in the
    stream, so each read here looks the table's current shard up first."""
    from moto.dynamodbstreams.models import ShardIterator

    original = ShardIterator.get

    def get(self, limit: int = 1000):
        self.stream_shard = self.streams_backend.dynamodb.get_table(self.stream_shard.table.name).stream_shard
        return original(self, limit)

    ShardIterator.get = get  # type: ignore[method-assign]  # the deliberate patch above


def check_totp_codes() -> None:
    """moto's Cognito hands every user the same TOTP secret and, unless told otherwise, accepts any
    code for it; told otherwise (MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP) it checks codes against
    that one shared secret. Its RespondToAuthChallenge also signs in whoever the USERNAME names,
    not the session's user (measured: docs/local-twin.md, 'Cognito: a second factor'). Cognito
    gives each user a secret of their own and checks the code, so here: AssociateSoftwareToken
    issues a fresh secret per user, VerifySoftwareToken checks the code against it before the
    secret takes effect, and a SOFTWARE_TOKEN_MFA answer must name the session's user and carry
    a code of that user's verified secret. Codes are checked one 30-second step either side, as
    authenticator clocks drift."""
    import pyotp
    from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend

    def user_of(backend, access_token: str | None, session: str | None):
        if session:
            if session not in backend.sessions:
                return None
            username, pool = backend.sessions[session]
            return pool._get_user(username)
        for pool in backend.user_pools.values():
            if access_token in pool.access_tokens:
                return pool._get_user(pool.access_tokens[access_token][1])
        return None

    def matches(secret: str | None, code: str | None) -> bool:
        if not secret or not code:
            return False
        return pyotp.TOTP(secret).verify(code, valid_window=1)

    associate, verify, respond = (CognitoIdpBackend.associate_software_token,
                                  CognitoIdpBackend.verify_software_token,
                                  CognitoIdpBackend.respond_to_auth_challenge)

    def associate_software_token(self, access_token, session):
        answer = associate(self, access_token, session)  # moto refuses an unknown token or session
        secret = pyotp.random_base32(32)
        user_of(self, access_token, session).bazaar_pending_totp_secret = secret
        return {**answer, "SecretCode": secret}

    def verify_software_token(self, access_token, session, user_code, friendly_device_name):
        user = user_of(self, access_token, session)
        if user is not None and not matches(getattr(user, "bazaar_pending_totp_secret", None), user_code):
            raise CodeMismatchException("Code mismatch and fail enable Software Token MFA")
        answer = verify(self, access_token, session, user_code, friendly_device_name)
        user.bazaar_totp_secret, user.bazaar_pending_totp_secret = user.bazaar_pending_totp_secret, None
        return answer

    def respond_to_auth_challenge(self, session, client_id, challenge_name, challenge_responses):
        if challenge_name == "SOFTWARE_TOKEN_MFA" and session in self.sessions:
            username, pool = self.sessions[session]
            user = pool._get_user(username)
            if pool._get_user(str(challenge_responses.get("USERNAME") or "")) is not user:
                raise NotAuthorizedError("Invalid session for the user.")
            if not matches(getattr(user, "bazaar_totp_secret", None),
                           challenge_responses.get("SOFTWARE_TOKEN_MFA_CODE")):
                raise CodeMismatchException("Invalid code or auth state for the user.")
        return respond(self, session, client_id, challenge_name, challenge_responses)

    CognitoIdpBackend.associate_software_token = associate_software_token  # type: ignore[method-assign]
    CognitoIdpBackend.verify_software_token = verify_software_token  # type: ignore[method-assign]
    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge  # type: ignore[method-assign]


# Longer than any function's timeout (900 s): the runtime, not this call, decides when a
# handler has run too long, and answers that as Lambda would.
_INVOKE_TIMEOUT_SECONDS = 960


def _function_name(function: str) -> str:
    """`name`, `arn:aws:lambda:<region>:<account>:function:name[:qualifier]` -> `name`."""
    if ":function:" in function:
        return function.split(":function:", 1)[1].split(":", 1)[0]
    return function


def _function_error(response_headers: dict, error_type: str, message: str) -> bytes:
    response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def forward_lambda_invokes(endpoint: str) -> None:
    """moto without Docker answers a Lambda invoke by echoing the payload back, so a state
    machine's Lambda tasks would never run Bazaar's code. This sends each invoke to the local
    stack instead (`POST <endpoint>/<function name>/invoke`), which runs the function's real
    handler in its runtime and answers the handler's payload, or an `x-amz-function-error`
    header with errorType/errorMessage when the handler raised; both go back to the caller (the
    state machine interpreter: its Retry and Catch see the handler's error type) unchanged."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        name = _function_name(function_name)
        payload = body.encode() if isinstance(body, str) else (body or b"{}")
        request = urllib.request.Request(
            f"{endpoint}/{quote(name)}/invoke", data=payload, method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=_INVOKE_TIMEOUT_SECONDS) as answer:
                if answer.headers.get("x-amz-function-error"):
                    response_headers["x-amz-function-error"] = answer.headers["x-amz-function-error"]
                return answer.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None  # moto's Lambda API then answers 404: no such function
            return _function_error(response_headers, "Runtime.Unavailable", f"local stack answered {error.code}")
        except OSError as error:
            return _function_error(response_headers, "Runtime.Unavailable", f"local stack unreachable: {error}")

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]  # the deliberate patch above


def _loopback_endpoint(endpoint: str) -> str:
    # Invokes carry whatever a task passes; they must never leave the machine.
    parts = urlsplit(endpoint)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        raise SystemExit(f"--lambda-endpoint must be http://127.0.0.1:<port>/..., not {endpoint!r}")
    return endpoint.rstrip("/")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lambda-endpoint", help="where Lambda invokes go: the local stack's /_local/functions")
    arguments = parser.parse_args()
    port = arguments.port
    os.environ["MOTO_PORT"] = str(port)  # moto's Step Functions integrations call back on it
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call is noise
    # moto's own check uses one secret for everyone; check_totp_codes does Cognito's.
    os.environ.pop("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", None)
    serialise_dynamodb()
    check_totp_codes()
    if arguments.lambda_endpoint:
        forward_lambda_invokes(_loopback_endpoint(arguments.lambda_endpoint))

    from moto.server import ThreadedMotoServer

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    # Its default address is 0.0.0.0: never on a shared machine.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stopping.wait()
    server.stop()


if __name__ == "__main__":
    main()
