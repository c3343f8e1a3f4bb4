"""Fixtures shared by the suite. The local stack is started once per session on free loopback
ports and stopped at the end; tests talk to it over HTTP and boto3, the way clients do."""

from __future__ import annotations

import pyotp
import pytest
import requests

from infra.local.stack import LocalConfig, LocalStack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    stack = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("bazaar-state")))
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def stream_stack(tmp_path_factory):
    """The local twin of the stream fixture service (tests/fixtures/stream_service.py)."""
    from tests.fixtures.stream_service import STREAM_SERVICE

    stack = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("streams-state"), seed_accounts=False),
                       STREAM_SERVICE)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def websocket_stack(tmp_path_factory):
    """The local twin of the WebSocket fixture service (tests/fixtures/websocket_service.py)."""
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    stack = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("websockets-state"), seed_accounts=False),
                       WEBSOCKET_SERVICE)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def egress_stack(tmp_path_factory):
    """The local twin of the egress fixture service (tests/fixtures/egress_service.py)."""
    from tests.fixtures.egress_service import EGRESS_SERVICE

    stack = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("egress-state"), seed_accounts=False),
                       EGRESS_SERVICE)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def state_machine_stack(tmp_path_factory):
    """The local twin of the state machine fixture service (tests/fixtures/state_machine_service.py),
    at clock speed 1 so that its definitions are the cloud's."""
    from tests.fixtures.state_machine_service import STATE_MACHINE_SERVICE

    stack = LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("workflows-state"), seed_accounts=False),
                       STATE_MACHINE_SERVICE)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def api(local_stack) -> str:
    return local_stack.url


@pytest.fixture(scope="session")
def tokens(local_stack, api):
    """Access tokens for the seeded account of each role, signed in through POST /v1/auth/login
    (only sessions begun there are accepted). Never log these accounts out: the tokens are shared
    by the whole session; tests that log out or suspend register their own users."""
    cache: dict[str, str] = {}

    def token(role: str) -> str:
        if role not in cache:
            cache[role] = login(api, **local_stack.accounts[role])["access_token"]
        return cache[role]

    return token


def login(api: str, email: str, password: str, totp_secret: str | None = None) -> dict:
    """Tokens through POST /v1/auth/login; for an account with a second factor (the seeded admin:
    `login(api, **stack.accounts["admin"])`), the challenge is answered at /v1/auth/login/mfa with
    a code made from `totp_secret`, as an authenticator app makes it."""
    response = requests.post(f"{api}/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    if "challenge" not in answer:
        return answer
    assert answer["challenge"] == "SOFTWARE_TOKEN_MFA", answer
    assert totp_secret is not None, f"{email} has a second factor: pass its totp_secret"
    return answer_mfa_challenge(api, answer["session"], totp_secret)


def answer_mfa_challenge(api: str, session: str, totp_secret: str) -> dict:
    response = requests.post(f"{api}/v1/auth/login/mfa",
                             json={"session": session, "code": pyotp.TOTP(totp_secret).now()}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=30, **kwargs)
