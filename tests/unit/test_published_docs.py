"""What is generated from the code for clients stays as the code says: the committed OpenAPI
document (served by the ops API) and docs/errors.md are regenerated here and must be unchanged,
and the document keeps its promises about statuses, tags and the error envelope."""

from __future__ import annotations

import json

import pytest

from bazaar.platform.errors import CATALOGUE, ErrorKind
from infra.apidocs import errors, openapi
from infra.description import SERVICE


@pytest.fixture(scope="module")
def handler_documents() -> dict:
    return openapi.handler_documents(SERVICE)


@pytest.fixture(scope="module")
def document(handler_documents) -> dict:
    return openapi.build(SERVICE, handler_documents)


def test_the_committed_openapi_document_is_what_the_code_generates(document):
    committed = openapi.DOCUMENT_PATH.read_text(encoding="utf-8")
    assert committed == openapi.render(document), "stale: run `make docs`"


def test_the_committed_error_table_is_what_the_catalogue_says():
    assert errors.ERRORS_PATH.read_text(encoding="utf-8") == errors.render(), "stale: run `make docs`"


def test_the_error_table_lists_every_code_with_its_status():
    table = errors.render()
    for code, kind in CATALOGUE.items():
        assert f"| `{code}` | {kind.status} |" in table
    assert "| `NEW_CODE` | 418 |" in errors.render({**CATALOGUE, "NEW_CODE": ErrorKind("NEW_CODE", 418, "x")})


def _responses(document, path, method) -> dict:
    return document["paths"][path][method]["responses"]


def test_every_route_is_tagged_with_its_context_and_every_tag_is_described(document):
    tags = {tag["name"] for tag in document["tags"]}
    for function, route in SERVICE.routes:
        assert document["paths"][route.path][route.method.lower()]["tags"] == [function.context]
        assert function.context in tags
    assert tags <= set(openapi.CONTEXT_TAGS)


def test_every_route_documents_what_the_edge_answers_and_never_the_framework_422(document):
    for _, route in SERVICE.routes:
        responses = _responses(document, route.path, route.method.lower())
        assert {"429", "500", "504"} <= set(responses), route.key
        assert any(status.startswith("2") for status in responses), route.key
        if not route.is_public:
            assert {"401", "403"} <= set(responses), route.key
        if route.method in ("POST", "PUT", "PATCH", "DELETE"):
            assert {"400", "413", "415"} <= set(responses), route.key
        if "{" in route.path:
            assert "404" in responses, route.key
        assert responses.get("422", {}).get("description") != "Validation Error", route.key
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "HTTPValidationError" not in json.dumps(document)


def test_every_error_answer_is_the_envelope_with_the_request_id(document):
    components = document["components"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                response = components["responses"][response["$ref"].rsplit("/", 1)[1]] if "$ref" in response else response
                assert response["headers"]["X-Request-Id"] == {"$ref": "#/components/headers/X-Request-Id"}
                if int(status) >= 400 and (path, method, status) != ("/health", "get", "503"):
                    assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    assert set(components["responses"]["TooManyRequests"]["headers"]) == {"X-Request-Id", "Retry-After"}
    envelope = components["schemas"]["Error"]["properties"]["error"]
    assert envelope["required"] == ["code", "message", "request_id"]
    assert envelope["properties"]["code"]["enum"] == list(CATALOGUE)


def test_idempotent_routes_document_the_key_conflicts(document):
    responses = _responses(document, "/v1/checkout", "post")
    assert {"409", "422"} <= set(responses)
    assert "IDEMPOTENCY_KEY_REUSED" in responses["422"]["description"]


def test_a_route_that_declares_responses_but_no_success_is_refused(handler_documents):
    broken = json.loads(json.dumps(handler_documents))
    broken["ops-api"]["paths"]["/health"]["get"]["responses"].pop("200")
    with pytest.raises(ValueError, match="GET /health documents no success answer"):
        openapi.build(SERVICE, broken)


def test_the_published_module_serves_the_committed_bytes_and_a_page_with_a_strict_policy():
    from bazaar.ops import published

    assert published.document() == openapi.DOCUMENT_PATH.read_text(encoding="utf-8")
    page = published.docs_page()
    policy = dict(part.split(" ", 1) for part in page.content_security_policy.split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert "unsafe-inline" not in page.content_security_policy
    assert "unsafe-eval" not in page.content_security_policy
    # each inline script and style element is allowed by its hash, and nothing else is
    assert len(policy["script-src"].split()) == page.html.count("\n<script>") == 2
    assert len(policy["style-src"].split()) == page.html.count("\n<style>") == 1
    assert page.html.count("</script>") == 2  # no inlined source ends its element early
    assert 'url: "openapi.json"' in page.html
