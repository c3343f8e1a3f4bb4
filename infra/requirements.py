"""Prints the pinned requirements from pyproject.toml, one per line, for pip -r.

    python infra/requirements.py            # runtime (what the Lambda layer carries)
    python infra/requirements.py --dev      # runtime + development and test tools

pyproject.toml stays the one list of dependencies; the Makefile and the layer build read it here."""

import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
requirements = list(project["dependencies"])
if "--dev" in sys.argv[1:]:
    requirements += project["optional-dependencies"]["dev"]
print("\n".join(requirements))
