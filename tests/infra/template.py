"""Reading a synthesized CloudFormation template: resources by type, and by Bazaar's own tags."""

from __future__ import annotations

from typing import Any


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def tag(resource: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in resource["Properties"].get("Tags", []) if t["Key"] == key), None)


def by_tag(template: dict[str, Any], kind: str, key: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {tag(r, key): (lid, r) for lid, r in resources(template, kind).items() if tag(r, key)}
