"""One OpenAPI document for the whole API, merged from each API function's own resolver (which
generates it from the routes' pydantic models), plus what only the description knows: the roles
of each route, the bearer scheme and the error-code catalogue."""

from __future__ import annotations

import json
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

from bazaar.platform.errors import CATALOGUE
from infra.description.model import Service

_SWAGGER = Path(generate_swagger_html.__code__.co_filename).parent


def merge(service: Service, documents: dict[str, dict | None]) -> dict:
    merged: dict = {
        "openapi": "3.1.0",
        "info": {"title": "Bazaar API", "version": service.settings.get("BAZAAR_VERSION", "0")},
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "x-error-codes": {code: {"status": k.status, "meaning": k.meaning} for code, k in CATALOGUE.items()},
    }
    for document in documents.values():
        if not document:
            continue
        for path, operations in document.get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(operations)
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
    for _, route in service.routes:
        operation = merged["paths"].get(route.path, {}).get(route.method.lower())
        if operation is None:
            continue
        roles = ", ".join(sorted(route.roles or ())) or "public (no token)"
        operation["description"] = f"{operation.get('description', '')}\n\nRoles: {roles}".strip()
        operation.setdefault("summary", route.summary)
        if not route.is_public:
            operation["security"] = [{"bearer": []}]
    return merged


def swagger_html(document: dict) -> str:
    return generate_swagger_html(
        spec=json.dumps(document),
        swagger_js=(_SWAGGER / "swagger-ui-bundle.min.js").read_text(),
        swagger_css=(_SWAGGER / "swagger-ui.min.css").read_text(),
        swagger_base_url="",
        oauth2_config=None,
    )
