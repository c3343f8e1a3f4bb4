"""The OpenAPI document is generated from the handlers' own routes and matches the description,
so a route added in code but not described (or the reverse) fails here; the ops API serves the
committed document (what the cloud serves) and the running functions generate the same one."""

from __future__ import annotations

import requests

from infra.apidocs import openapi
from infra.description import SERVICE


def test_each_api_function_serves_exactly_its_described_routes(local_stack):
    for function in SERVICE.functions:
        if not function.routes:
            continue
        document = local_stack.runtimes[function.name].openapi()
        served = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
        described = {(r.method, r.path) for r in function.routes}
        assert served == described, function.name


def test_the_published_document_is_the_committed_one_and_what_the_running_functions_generate(local_stack, api):
    response = requests.get(f"{api}/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text == openapi.DOCUMENT_PATH.read_text(encoding="utf-8")
    assert response.json() == local_stack.openapi_document()


def test_the_document_lists_routes_roles_tags_statuses_and_error_codes(api):
    document = requests.get(f"{api}/v1/openapi.json", timeout=30).json()

    for function, route in SERVICE.routes:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["summary"]
        assert "Roles:" in operation["description"]
        assert ("security" in operation) == (not route.is_public)
        assert operation["tags"] == [function.context]
        statuses = set(operation["responses"])
        assert {"429", "500", "504"} <= statuses
        assert ({"401", "403"} <= statuses) == (not route.is_public) or route.path.startswith("/v1/auth/")
    assert {tag["name"] for tag in document["tags"]} >= {"ops", "identity", "catalog", "checkout", "orders"}
    assert document["x-error-codes"]["NOT_FOUND"]["status"] == 404
    assert document["components"]["responses"]["BadRequest"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}


def test_an_answered_error_matches_the_documented_envelope(api):
    document = requests.get(f"{api}/v1/openapi.json", timeout=30).json()
    envelope = document["components"]["schemas"]["Error"]["properties"]["error"]
    refused = requests.get(f"{api}/v1/me", timeout=30)
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert set(envelope["required"]) <= set(error) <= set(envelope["properties"])
    assert error["code"] in envelope["properties"]["code"]["enum"]
    assert refused.headers["X-Request-Id"] == error["request_id"]


def test_swagger_ui_is_served_offline_under_a_strict_policy(api):
    page = requests.get(f"{api}/v1/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert 'url: "openapi.json"' in page.text  # beside the page: /v1/openapi.json
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "https:" not in policy
