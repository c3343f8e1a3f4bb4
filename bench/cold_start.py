"""Cold-start benchmark: each function's import + init time next to the floor, in one run.

The floor is a bare module that creates one boto3 client and a powertools Logger: what any
Python Lambda here pays before doing anything of its own. Each figure is the median of several
fresh interpreters (in-process time around the import, so interpreter start-up is excluded; the
wall time of the whole process is shown too). Compare the ratios, not the milliseconds: the
machine is shared and a Lambda with less CPU is slower across the board.

    make bench-cold-start        (or: python bench/cold_start.py --runs 7 [--explain])
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.cloud.runtime import PYTHON_VERSION  # noqa: E402
from infra.description import SERVICE  # noqa: E402
from infra.description.model import PlaceholderNames  # noqa: E402

FLOOR = """
import boto3
from aws_lambda_powertools import Logger
boto3.client("dynamodb")
Logger()
"""

# What every function takes from the toolset before a line of its own: Logger, Metrics and a
# Tracer patching AWS calls (as bazaar.platform.observability makes them), and for an API the
# REST resolver with validation, which brings pydantic. A function's ratio to its toolset row is
# what its own modules cost.
TOOLSET = FLOOR + """
from aws_lambda_powertools import Metrics, Tracer
Metrics()
Tracer(patch_modules=("botocore",))
"""
API_TOOLSET = TOOLSET + """
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
APIGatewayRestResolver(enable_validation=True)
"""

MEASURE = """
import importlib, json, sys, time
started = time.perf_counter()
{body}
print(json.dumps({{"init_ms": (time.perf_counter() - started) * 1000}}))
"""


def run(body: str, environment: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", MEASURE.format(body=body)],
        env=environment, cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    wall = (time.perf_counter() - started) * 1000
    return json.loads(output.strip().splitlines()[-1])["init_ms"], wall


def imported(body: str, environment: dict[str, str]) -> dict[str, int]:
    """Each module `body` imports and the microseconds of its own import (python -X importtime)."""
    lines = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import importlib\n{body}"],
        env=environment, cwd=ROOT, capture_output=True, text=True, check=True,
    ).stderr.splitlines()
    modules = {}
    for line in lines:
        if line.startswith("import time:") and "self [us]" not in line:
            own, _, module = line.removeprefix("import time:").split("|")
            modules[module.strip()] = int(own)
    return modules


def package(module: str) -> str:
    """What a module is counted under: Bazaar's by context, anything else by distribution."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("bazaar", "functions") else parts[0]


def explain(cases, own_toolset_body: dict[str, str]) -> None:
    """Per function, what it imports beyond its toolset, by package, biggest first."""
    toolsets = {body: set(imported(body, cases[0][2])) for body in set(own_toolset_body.values())}
    print("\nbeyond the toolset (own import time, ms, one interpreter; first importer pays):")
    for name, body, environment in cases[3:]:
        beyond: dict[str, int] = {}
        for module, own in imported(body, environment).items():
            if module not in toolsets[own_toolset_body[name]]:
                beyond[package(module)] = beyond.get(package(module), 0) + own
        top = sorted(beyond.items(), key=lambda item: -item[1])[:6]
        total = sum(beyond.values()) / 1000
        print(f"{name:<32}{total:>6.0f}  " + ", ".join(f"{p} {us / 1000:.0f}" for p, us in top))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true",
                        help="also list, per function, what it imports beyond its toolset")
    options = parser.parse_args()
    runs = options.runs
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")]),
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "BAZAAR_STAGE": "bench",
        # What Lambda sets for every function, and what the X-Ray SDK and Powertools read to know
        # they run in Lambda: without LAMBDA_TASK_ROOT the SDK builds a sampling client for a
        # daemon at import (a fifth of a second that no function in Lambda pays) and Tracer
        # turns itself off (no patching, which every traced function in Lambda pays).
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{PYTHON_VERSION}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    cases = [("floor (boto3 client + Logger)", FLOOR, base),
             ("toolset (+ Metrics, Tracer)", TOOLSET, base),
             ("API toolset (+ REST resolver)", API_TOOLSET, base)]
    for function in SERVICE.functions:
        environment = {
            **base,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "_HANDLER": function.handler,
            **SERVICE.function_environment(function, PlaceholderNames()),
        }
        cases.append((function.name, f"importlib.import_module({function.module!r})", environment))

    results: dict[str, list[tuple[float, float]]] = {}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits every case alike
        for name, body, environment in cases:
            results.setdefault(name, []).append(run(body, environment))
    medians = {name: statistics.median(s[0] for s in samples) for name, samples in results.items()}
    floor, toolset, api_toolset = (medians[name] for name, _, _ in cases[:3])
    own_toolset = {f.name: api_toolset if f.routes else toolset for f in SERVICE.functions}
    print(f"cold start: import + init, median of {runs} fresh interpreters (python {sys.version.split()[0]})")
    print("x toolset: against the toolset row of its kind (the API one for functions with routes)")
    print(f"{'function':<32}{'init ms':>10}{'min-max':>16}{'x floor':>10}{'x toolset':>11}{'process ms':>12}")
    for name, samples in results.items():
        inits = [s[0] for s in samples]
        against = f"{medians[name] / own_toolset[name]:.2f}" if name in own_toolset else ""
        print(
            f"{name:<32}{medians[name]:>10.0f}{f'{min(inits):.0f}-{max(inits):.0f}':>16}"
            f"{medians[name] / floor:>10.2f}{against:>11}{statistics.median(s[1] for s in samples):>12.0f}"
        )
    if options.explain:
        explain(cases, {f.name: API_TOOLSET if f.routes else TOOLSET for f in SERVICE.functions})

if __name__ == "__main__":
    main()
