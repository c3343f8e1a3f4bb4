"""Fixtures shared by the suite. The local stack is started once per session on free loopback
ports and stopped at the end; tests talk to it over HTTP and boto3, the way clients do."""

from __future__ import annotations

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
def api(local_stack) -> str:
    return local_stack.url


@pytest.fixture(scope="session")
def tokens(local_stack):
    """Access tokens for the seeded account of each role, from Cognito (moto) itself."""
    cognito = local_stack.client("cognito-idp")
    cache: dict[str, str] = {}

    def token(role: str) -> str:
        if role not in cache:
            account = local_stack.accounts[role]
            result = cognito.initiate_auth(
                ClientId=local_stack.names.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": account["email"], "PASSWORD": account["password"]},
            )
            cache[role] = result["AuthenticationResult"]["AccessToken"]
        return cache[role]

    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=30, **kwargs)
