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
    # The stack with its nested stacks' resources in place of them (infra/cloud/nested.py): what
    # the template tests and the parity inventory read.
    template: dict[str, Any]
    template_path: Path
    stack_name: str
    outdir: Path
    # The parent stack's own template, nested stacks as AWS::CloudFormation::Stack resources.
    root_template: dict[str, Any]
    # Logical id of each nested stack -> its template file.
    nested_template_paths: dict[str, Path]


@pytest.fixture(scope="session")
def stub_layer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layer = tmp_path_factory.mktemp("layer")
    (layer / "python").mkdir()
    (layer / "python" / "STUB").write_text("stub layer for offline synthesis in tests\n")
    return layer


def synthesize(outdir: Path, layer_dir: Path, service, stage: str = "dev") -> Synthesized:
    """The cloud twin of `service` at `stage` (cdk-nag checked) as CloudFormation, written under
    `outdir`."""
    import aws_cdk as cdk

    from infra.cloud import runtime
    from infra.cloud.nested import flatten_from_directory, nested_template_files
    from infra.cloud.stack import STACK_ID, build_app

    app = cdk.App(
        outdir=str(outdir),
        context={runtime.CONTEXT_LAYER_DIR: str(layer_dir), runtime.CONTEXT_STAGE: stage},
    )
    stack = build_app(app, service)
    assembly = app.synth()  # raises if cdk-nag reports anything not acknowledged
    artifact = assembly.get_stack_artifact(STACK_ID)
    path = Path(artifact.template_full_path)
    root = json.loads(path.read_text())
    return Synthesized(
        template=flatten_from_directory(root, path.parent),
        template_path=path,
        stack_name=stack.stack_name,
        outdir=outdir,
        root_template=root,
        nested_template_paths=nested_template_files(root, path.parent),
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    from infra.description.bazaar import SERVICE

    return synthesize(tmp_path_factory.mktemp("cdk.out"), stub_layer_dir, SERVICE)


@pytest.fixture(scope="session")
def prod_synthesized(tmp_path_factory: pytest.TempPathFactory, stub_layer_dir: Path) -> Synthesized:
    """Bazaar synthesized as the prod stage (`-c bazaar:stage=prod`), to compare with dev's."""
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
    """The synthesized BazaarStack template as a dict."""
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
