"""Reading a synthesized CloudFormation template: resources by type, and by Bazaar's own tags."""

from __future__ import annotations

from typing import Any


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def tag(resource: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in resource["Properties"].get("Tags", []) if t["Key"] == key), None)


def by_tag(template: dict[str, Any], kind: str, key: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {tag(r, key): (lid, r) for lid, r in resources(template, kind).items() if tag(r, key)}


def function_role(template: dict[str, Any], key: str, function: str) -> str:
    """The logical id of the role the function tagged `function` (under tag `key`) runs as."""
    (_, resource) = by_tag(template, "AWS::Lambda::Function", key)[function]
    return resource["Properties"]["Role"]["Fn::GetAtt"][0]


def attached_policies(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    """The AWS::IAM::Policy resources attached to the role with logical id `role`."""
    return {
        lid: policy
        for lid, policy in resources(template, "AWS::IAM::Policy").items()
        if {"Ref": role} in policy["Properties"].get("Roles", [])
    }


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every statement the role holds: its inline `Policies` and any AWS::IAM::Policy attached to
    it (both are inline policies of the role as far as IAM is concerned)."""
    inline = template["Resources"][role]["Properties"].get("Policies", [])
    attached = [p["Properties"] for p in attached_policies(template, role).values()]
    return [s for p in inline + attached for s in p["PolicyDocument"]["Statement"]]
