"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis): for every
described route, generated requests (valid and invalid) never produce a 5xx, and every refusal
comes back in the error envelope with the request id. Runs against a stack of its own with a
fresh account per role, so nothing it does (logouts, suspensions) touches other tests."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from infra.description import SERVICE
from infra.local.stack import LocalConfig, LocalStack
from tests.conftest import bearer, login

_ROLES = {(r.method, r.path): sorted(r.roles) for _, r in SERVICE.routes}
# Routes that end the caller's session would end every later case's too.
_SESSION_ENDING = {("POST", "/v1/auth/logout")}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    with LocalStack(LocalConfig.for_tests(tmp_path_factory.mktemp("fuzz"), seed_accounts=False)) as stack:
        yield stack


@pytest.fixture(scope="module")
def fuzz_tokens(fuzz_stack) -> dict[str, str]:
    tokens = {}
    for role in ("customer", "seller", "scout", "admin"):
        email, password = f"fuzz-{role}-{uuid.uuid4().hex[:8]}@test.bazaar.local", f"{uuid.uuid4().hex}aZ7!"
        fuzz_stack.create_account(role, email, password)
        tokens[role] = login(fuzz_stack.url, email, password)["access_token"]
    return tokens


@pytest.fixture(scope="module")
def api_schema(fuzz_stack):
    return schemathesis.openapi.from_dict(fuzz_stack.openapi_document())


def _error_envelope(response, case) -> None:
    if 400 <= response.status_code < 600:
        body = response.json()
        assert set(body) == {"error"}, body
        assert body["error"]["code"].isupper(), body
        # schemathesis gives headers lower-cased, each with its list of values
        assert response.headers.get("x-request-id") == [body["error"]["request_id"]], response.headers


@pytest.mark.parametrize(
    ("method", "path"), sorted((r.method, r.path) for _, r in SERVICE.routes if (r.method, r.path) not in _SESSION_ENDING)
)
def test_no_generated_request_gets_a_5xx_or_a_bare_error(method, path, api_schema, fuzz_stack, fuzz_tokens):
    roles = _ROLES[(method, path)]
    auth = bearer(fuzz_tokens[roles[0]]) if roles else {}
    statuses: list[int] = []

    @given(case=api_schema[path][method].as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case):
        response = case.call(base_url=fuzz_stack.url, headers={**(case.headers or {}), **auth}, timeout=30)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])
        _error_envelope(response, case)

    fuzz()
    if roles:
        # The fuzzing got past the authorizer (a test that only ever met 401s would prove nothing).
        assert any(status not in (401, 403) for status in statuses), statuses
