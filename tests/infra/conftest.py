"""Synthesize the cloud twin once per test session (a synth with cdk-nag costs ~5 s).

The real dependency layer is never built here: the app gets a stub layer directory through the
`bazaar:layerDir` context, so the tests run offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Synthesized:
    # Everything CloudFormation deploys as one resource map: the parent's resources and each
    # nested stack's under `<nested stack logical id>/<logical id>`, nested parameters resolved
    # (infra.cloud.inventory.deployment). Read resources here; lint and count the files.
    template: dict[str, Any]
    # The parent stack's own template and its file.
    parent_template: dict[str, Any]
    template_path: Path
    # Each nested stack's template and file, by its AWS::CloudFormation::Stack logical id.
    nested_templates: dict[str, dict[str, Any]]
    nested_template_paths: dict[str, Path]
    stack_name: str
    outdir: Path

    @property
    def template_files(self) -> dict[str, tuple[Path, dict[str, Any]]]:
        """Every template CloudFormation receives (the parent's, then each nested stack's)."""
        return {
            "parent": (self.template_path, self.parent_template),
            **{lid: (self.nested_template_paths[lid], t) for lid, t in self.nested_templates.items()},
        }


@pytest.fixture(scope="session")
def stub_layer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layer = tmp_path_factory.mktemp("layer")
    (layer / "python").mkdir()
    (layer / "python" / "STUB").write_text("stub layer for offline synthesis in tests\n")
    return layer


def synthesize(outdir: Path, layer_dir: Path, service, stage: str = "dev") -> Synthesized:
    """The cloud twin of `service` (cdk-nag checked) deployed as `stage`, as CloudFormation
    written under `outdir`."""
    import aws_cdk as cdk

    from infra.cloud import runtime
    from infra.cloud.inventory import deployment, read_nested_templates
    from infra.cloud.stack import STACK_ID, build_app

    app = cdk.App(
        outdir=str(outdir),
        context={runtime.CONTEXT_LAYER_DIR: str(layer_dir), runtime.CONTEXT_STAGE: stage},
    )
    stack = build_app(app, service)
    assembly = app.synth()  # raises if cdk-nag reports anything not acknowledged
    artifact = assembly.get_stack_artifact(STACK_ID)
    path = Path(artifact.template_full_path)
    parent = json.loads(path.read_text())
    nested = read_nested_templates(parent, path.parent)
    nested_paths = {
        lid: path.parent / nested_stack.template_file
        for nested_stack in stack.node.find_all() if isinstance(nested_stack, cdk.NestedStack)
        for lid in [stack.resolve(stack.get_logical_id(nested_stack.nested_stack_resource))]  # type: ignore[arg-type]
    }
    assert set(nested_paths) == set(nested), (nested_paths, list(nested))
    return Synthesized(
        template=deployment(parent, nested),
        parent_template=parent,
        template_path=path,
        nested_templates=nested,
        nested_template_paths=nested_paths,
        stack_name=stack.stack_name,
        outdir=outdir,
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    from infra.description.bazaar import SERVICE

    return synthesize(tmp_path_factory.mktemp("cdk.out"), stub_layer_dir, SERVICE)


@pytest.fixture(scope="session")
def prod_synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    """The same service synthesized as the prod stage (context bazaar:stage=prod)."""
    from infra.description.bazaar import SERVICE

    return synthesize(tmp_path_factory.mktemp("cdk.out.prod"), stub_layer_dir, SERVICE, stage="prod")


@pytest.fixture(scope="session")
def stream_synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    """The stream fixture service (tests/fixtures/stream_service.py) synthesized the same way."""
    from tests.fixtures.stream_service import STREAM_SERVICE

    return synthesize(tmp_path_factory.mktemp("cdk.out.streams"), stub_layer_dir, STREAM_SERVICE)


@pytest.fixture(scope="session")
def egress_synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    """The egress fixture service (tests/fixtures/egress_service.py) synthesized the same way."""
    from tests.fixtures.egress_service import EGRESS_SERVICE

    return synthesize(tmp_path_factory.mktemp("cdk.out.egress"), stub_layer_dir, EGRESS_SERVICE)


@pytest.fixture(scope="session")
def cloud_template(synthesized: Synthesized) -> dict[str, Any]:
    """The synthesized BazaarStack with its nested stacks, as one resource map (`Synthesized.template`)."""
    return synthesized.template


@pytest.fixture(scope="session")
def state_machine_synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    """The state machine fixture service (tests/fixtures/state_machine_service.py) synthesized the same way."""
    from tests.fixtures.state_machine_service import STATE_MACHINE_SERVICE

    return synthesize(tmp_path_factory.mktemp("cdk.out.workflows"), stub_layer_dir, STATE_MACHINE_SERVICE)


@pytest.fixture(scope="session")
def websocket_synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    """The WebSocket fixture service (tests/fixtures/websocket_service.py) synthesized the same way."""
    from tests.fixtures.websocket_service import WEBSOCKET_SERVICE

    return synthesize(tmp_path_factory.mktemp("cdk.out.websockets"), stub_layer_dir, WEBSOCKET_SERVICE)
