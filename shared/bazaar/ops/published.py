"""The API's published description: the OpenAPI document generated at build time
(`python -m infra.apidocs` writes openapi.json beside this module) and a Swagger UI page for it.

Both are read on first use, not at cold start, and kept for the instance's life: /health, served
by the same function, pays nothing for them. The page inlines Swagger UI (the copy powertools
ships, so nothing is fetched from a CDN) and its Content-Security-Policy allows exactly its own
inline script and style by hash, and fetching from its own origin (the document, "Try it out")."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

DOCUMENT = Path(__file__).with_name("openapi.json")
# Swagger UI as powertools ships it, found on first use (naming the package imports it).
_SWAGGER_UI = "aws_lambda_powertools.event_handler.openapi.swagger_ui"
# Relative, so it resolves beside the page wherever the API is mounted (a stage path, a domain).
_START = (
    'window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true, '
    "validatorUrl: null, tryItOutEnabled: false});"
)


@dataclass(frozen=True)
class Page:
    html: str
    content_security_policy: str


@cache
def document() -> str:
    """The OpenAPI document's bytes, exactly as committed."""
    return DOCUMENT.read_text(encoding="utf-8")


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


@cache
def docs_page() -> Page:
    assets = files(_SWAGGER_UI)
    script = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    html = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Bazaar API</title>\n'
        f"<style>{style}</style>\n</head>\n<body>\n<div id=\"swagger-ui\"></div>\n"
        f"<script>{script}</script>\n<script>{_START}</script>\n</body>\n</html>\n"
    )
    policy = "; ".join((
        "default-src 'none'",
        f"script-src {_hash(script)} {_hash(_START)}",
        f"style-src {_hash(style)}",
        "img-src 'self' data:",
        "font-src data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ))
    return Page(html=html, content_security_policy=policy)
