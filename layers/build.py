#!/usr/bin/env python3
"""Build Bazaar's Lambda layer without docker.

Installs the runtime dependencies from pyproject.toml `[project].dependencies` as manylinux
wheels for the functions' runtime and architecture (infra/cloud/runtime.py), then copies the
shared `bazaar` package next to them:

    layers/build/dependencies/python/<third-party packages>
    layers/build/dependencies/python/bazaar/

The stack picks the directory up on the next synth (context `bazaar:layerDir` overrides it).
Needs network access to the package index. Usage: python layers/build.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from infra.cloud import runtime  # noqa: E402  (no aws_cdk: cheap, no Node needed)

LAYER_DIR = REPO_ROOT / runtime.LAYER_DIR
SITE = LAYER_DIR / "python"


def dependencies() -> list[str]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


def main() -> int:
    deps = dependencies()
    if LAYER_DIR.exists():
        shutil.rmtree(LAYER_DIR)
    SITE.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pip", "install",
        "--disable-pip-version-check", "--no-compile",
        "--platform", runtime.PIP_PLATFORM,
        "--only-binary=:all:",
        "--implementation", "cp",
        "--python-version", runtime.PYTHON_VERSION,
        "--target", str(SITE),
        *deps,
    ]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    shutil.copytree(
        REPO_ROOT / "shared" / "bazaar",
        SITE / "bazaar",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    # Bytecode compiled by this (host) Python would not match the runtime; let Lambda compile.
    for cache in SITE.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    size = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file())
    print(f"layer ready: {LAYER_DIR.relative_to(REPO_ROOT)} ({size / 1e6:.1f} MB unzipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
