"""The OpenAPI document is generated from the handlers' own routes and matches the description,
so a route added in code but not described (or the reverse) fails here."""

from __future__ import annotations

import requests

from infra.description import SERVICE


def test_each_api_function_serves_exactly_its_described_routes(local_stack):
    for function in SERVICE.functions:
        if not function.routes:
            continue
        document = local_stack.runtimes[function.name].openapi()
        served = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
        described = {(r.method, r.path) for r in function.routes}
        assert served == described, function.name


def test_the_merged_document_lists_routes_roles_and_error_codes(api):
    document = requests.get(f"{api}/_local/openapi.json", timeout=30).json()

    for _, route in SERVICE.routes:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["summary"]
        assert "Roles:" in operation["description"]
        assert ("security" in operation) == (not route.is_public)
    assert document["x-error-codes"]["NOT_FOUND"]["status"] == 404


def test_swagger_ui_is_served_offline(api):
    page = requests.get(f"{api}/_local/docs", timeout=30)
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert requests.get(f"{api}/_local/docs?format=json", timeout=30).json()["info"]["title"] == "Bazaar API"
