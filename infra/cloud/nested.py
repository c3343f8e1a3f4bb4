"""A synthesized stack and its nested stacks read back as one template, as if they were one stack:
what the parity inventory and the template tests look at. Pure Python: no aws_cdk import.

Each `AWS::CloudFormation::Stack` resource is replaced by the resources of the template it names
(CDK writes it beside the parent; its TemplateURL ends in the asset's object key, which the
assets manifest `<stack>.assets.json` maps to that file), with every
`{"Ref": <parameter>}` of the nested template replaced by the value the parent passes for that
parameter, so a nested alarm's dimension points at the parent's queue as it would in one stack."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

NESTED_STACK = "AWS::CloudFormation::Stack"


def _object_key(resource: dict[str, Any]) -> str | None:
    """The S3 object key a nested stack's TemplateURL ends in (`<hash>.json`)."""
    url = resource.get("Properties", {}).get("TemplateURL")
    if isinstance(url, dict) and "Fn::Join" in url:
        parts = url["Fn::Join"][1]
        last = parts[-1] if parts else None
        return last.rsplit("/", 1)[-1] if isinstance(last, str) else None
    return url.rsplit("/", 1)[-1] if isinstance(url, str) else None


def _nested_stacks(template: dict[str, Any]) -> dict[str, str]:
    """Logical id of each nested stack -> its template's object key."""
    return {
        lid: key
        for lid, resource in template.get("Resources", {}).items()
        if resource.get("Type") == NESTED_STACK and (key := _object_key(resource))
    }


def _asset_files(directory: Path) -> dict[str, Path]:
    """Object key -> the synthesized file, from every assets manifest in `directory`."""
    files: dict[str, Path] = {}
    for manifest in directory.glob("*.assets.json"):
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            for destination in asset.get("destinations", {}).values():
                files[destination["objectKey"]] = directory / asset["source"]["path"]
    return files


def nested_template_files(template: dict[str, Any], directory: Path) -> dict[str, Path]:
    """Logical id of each nested stack -> the file its template was synthesized to."""
    files = _asset_files(directory)
    return {lid: files[key] for lid, key in _nested_stacks(template).items()}


def _substitute(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return copy.deepcopy(parameters[value["Ref"]])
        return {key: _substitute(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, parameters) for item in value]
    return value


def flatten(template: dict[str, Any], read: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """`template` with each nested stack's resources in place of the nested stack (recursively).
    `read(object_key)` returns the nested template CDK wrote for that asset."""
    flat = copy.deepcopy(template)
    resources = flat.setdefault("Resources", {})
    for lid, key in _nested_stacks(template).items():
        nested = flatten(read(key), read)
        parameters = resources[lid].get("Properties", {}).get("Parameters", {}) or {}
        del resources[lid]
        for nested_id, nested_resource in nested.get("Resources", {}).items():
            if nested_id in resources:
                raise ValueError(f"nested stack {lid} and its parent both have a resource {nested_id}")
            resources[nested_id] = _substitute(nested_resource, parameters)
    return flat


def flatten_from_directory(template: dict[str, Any], directory: Path) -> dict[str, Any]:
    files = _asset_files(directory)
    return flatten(template, lambda key: json.loads(files[key].read_text()))
