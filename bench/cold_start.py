"""Cold-start benchmark: each function's import + init time next to the floor, in one run.

The floor is a bare module that creates one boto3 client and a powertools Logger: what any
Python Lambda here pays before doing anything of its own. Each figure is the median of several
fresh interpreters (in-process time around the import, so interpreter start-up is excluded; the
wall time of the whole process is shown too). Compare the ratios, not the milliseconds: the
machine is shared and a Lambda with less CPU is slower across the board.

    make bench-cold-start        (or: python bench/cold_start.py --runs 7)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
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
    cases = [("floor (boto3 client + Logger)", FLOOR, base)]
    for function in SERVICE.functions:
        environment = {
            **base,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "_HANDLER": function.handler,
            **SERVICE.function_environment(function, PlaceholderNames()),
        }
        cases.append((function.name, f"importlib.import_module({function.module!r})", environment))

    results = {}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits every case alike
        for name, body, environment in cases:
            results.setdefault(name, []).append(run(body, environment))
    floor = statistics.median(r[0] for r in results[cases[0][0]])
    print(f"cold start: import + init, median of {runs} fresh interpreters (python {sys.version.split()[0]})")
    print(f"{'function':<32}{'init ms':>10}{'min-max':>16}{'× floor':>10}{'process ms':>12}")
    for name, samples in results.items():
        inits = [s[0] for s in samples]
        median = statistics.median(inits)
        print(
            f"{name:<32}{median:>10.0f}{f'{min(inits):.0f}-{max(inits):.0f}':>16}"
            f"{median / floor:>10.2f}{statistics.median(s[1] for s in samples):>12.0f}"
        )


if __name__ == "__main__":
    main()
