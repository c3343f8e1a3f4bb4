"""The crash point hook (bazaar.platform.faults), run in real child processes as the local runtime
runs functions: a no-op without the twin's directory or when not armed, and when armed a hard exit
with status 137, once, whichever process reaches it first; plus every point the code names is
documented in docs/faults.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from infra.local.crash_points import POINT_NAME, CrashPoints

ROOT = Path(__file__).resolve().parents[2]
POINT = "checkout.placed_before_payment_requested"
REACH = ("from bazaar.platform.faults import crash_point\n"
         f"crash_point({POINT!r})\n"
         "print('survived')\n")


def reach_point(directory: Path | None, function: str = "checkout-api") -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "shared"), "AWS_LAMBDA_FUNCTION_NAME": function}
    if directory is not None:
        environment["BAZAAR_CRASH_POINTS_DIR"] = str(directory)
    return subprocess.run([sys.executable, "-c", REACH], env=environment, capture_output=True, text=True, timeout=60)


def points(tmp_path: Path) -> CrashPoints:
    return CrashPoints(tmp_path / "crash-points", frozenset({"checkout-api", "payments-events-worker"})).start()


def test_without_the_twins_directory_a_crash_point_does_nothing(tmp_path):
    assert reach_point(None).stdout.strip() == "survived"


def test_a_point_not_armed_does_nothing(tmp_path):
    assert reach_point(points(tmp_path).directory).stdout.strip() == "survived"


def test_an_armed_point_kills_the_process_once_and_the_retry_survives(tmp_path):
    control = points(tmp_path)
    control.arm(POINT)

    died = reach_point(control.directory)
    retried = reach_point(control.directory)

    assert died.returncode == 137 and "survived" not in died.stdout
    assert retried.returncode == 0 and retried.stdout.strip() == "survived"
    assert control.describe() == {"armed": {}, "fired": [POINT]}


def test_a_point_armed_for_another_function_spares_this_one(tmp_path):
    control = points(tmp_path)
    control.arm(POINT, "payments-events-worker")

    assert reach_point(control.directory, "checkout-api").returncode == 0
    assert reach_point(control.directory, "payments-events-worker").returncode == 137


def test_every_crash_point_in_the_code_is_well_named_documented_and_killed_by_the_suite():
    named = set()
    for path in (ROOT / "shared" / "bazaar").rglob("*.py"):
        if path.name == "faults.py":
            continue  # the hook itself, whose docstring shows the call
        named |= set(re.findall(r'crash_point\("([^"]+)"\)', path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"`([a-z_]+\.[a-z_.]+)`", (ROOT / "docs" / "faults.md").read_text(encoding="utf-8")))
    killed = (ROOT / "tests" / "faults" / "test_crash_points.py").read_text(encoding="utf-8")
    assert named, "no crash point found: the pattern above no longer matches the calls"
    assert all(POINT_NAME.fullmatch(name) for name in named)
    assert named <= documented, named - documented
    assert {name for name in named if f'"{name}"' not in killed} == set()
