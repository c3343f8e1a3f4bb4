"""Every route in the description × anonymous and each role, with the status the gateway and the
handler give. Generated from `SERVICE.routes`, so a new route is covered the day it is declared:

- anonymous on a non-public route: 401; a role not allowed: 403 (both in the error envelope);
- anyone on a public route, and an allowed role: neither 401 nor 403 (nor a 5xx): the request,
  with a placeholder id and an empty body, is accepted or refused on its merits (400, 404, ...).
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from infra.description import SERVICE
from infra.description.model import Role
from tests.e2e.identity_helpers import PASSWORD, login, register

ANONYMOUS = "anonymous"
PRINCIPALS = (ANONYMOUS, *(role.value for role in Role))
PLACEHOLDER_ID = "usr_00000000000000000000000000"  # well-formed, owned by no one


class Principals:
    """One disposable user per role (the matrix logs out, so never the shared seeded accounts),
    signed in again whenever a cell may have ended the session."""

    def __init__(self, api: str, local_stack):
        self.api = api
        self.emails = {role: register(api, role)["email"] for role in ("customer", "seller", "scout")}
        self.emails["admin"] = f"matrix-admin-{uuid.uuid4().hex[:8]}@example.in"
        local_stack.create_account("admin", self.emails["admin"], PASSWORD)
        # Admins reach their routes only with a second factor; create_account enrolled one.
        self._totp_secrets = {"admin": local_stack.totp_secrets[self.emails["admin"]]}
        self._tokens: dict[str, str] = {}

    def headers(self, principal: str) -> dict[str, str]:
        if principal == ANONYMOUS:
            return {}
        if principal not in self._tokens:
            self._tokens[principal] = login(self.api, self.emails[principal],
                                            totp_secret=self._totp_secrets.get(principal))["access_token"]
        return {"Authorization": f"Bearer {self._tokens[principal]}"}

    def forget(self, principal: str) -> None:
        self._tokens.pop(principal, None)


@pytest.fixture(scope="module")
def principals(api, local_stack) -> Principals:
    return Principals(api, local_stack)


def _expected(route, principal: str) -> int | None:
    """The exact status for a refused cell; None where the caller must get past authorisation."""
    if route.is_public:
        return None
    if principal == ANONYMOUS:
        return 401
    return None if Role(principal) in route.roles else 403


@pytest.mark.parametrize("route", [r for _, r in SERVICE.routes], ids=lambda r: r.key)
def test_route_answers_each_principal_as_the_description_says(api, principals, route):
    path = re.sub(r"\{[a-z_]+\}", PLACEHOLDER_ID, route.path)
    outcomes = {}
    for principal in PRINCIPALS:
        response = requests.request(
            route.method, f"{api}{path}", headers=principals.headers(principal),
            json={} if route.method in ("POST", "PUT", "PATCH") else None, timeout=30,
        )
        outcomes[principal] = response.status_code
        expected = _expected(route, principal)
        if expected is not None:
            assert response.status_code == expected, (principal, response.text)
            code = {401: "UNAUTHORIZED", 403: "FORBIDDEN"}[expected]
            assert response.json()["error"]["code"] == code
        else:
            assert response.status_code not in (401, 403), (principal, response.text)
            assert response.status_code < 500, (principal, response.text)
        if response.ok and route.method != "GET":
            principals.forget(principal)  # it may have ended the session (logout)
    assert set(outcomes) == set(PRINCIPALS)


def test_the_matrix_covers_every_declared_route():
    # A guard against the parametrisation silently shrinking (e.g. a context dropped from CONTEXTS).
    keys = {r.key for _, r in SERVICE.routes}
    assert {"POST /v1/auth/logout", "GET /v1/me", "GET /v1/admin/audit", "GET /health"} <= keys
    assert all(r.is_public or r.roles for _, r in SERVICE.routes)
