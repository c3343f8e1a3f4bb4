"""What a function imports at cold start is what it uses (docs/cold-start.md): each entry module is
imported in a fresh interpreter, under the environment the description gives that function, and
the heavy modules it must not load unless it is one of their users are looked for in sys.modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.description import SERVICE
from infra.description.model import PlaceholderNames

ROOT = Path(__file__).resolve().parents[2]
# One fresh interpreter per function: about a second each.
pytestmark = pytest.mark.slow

# A heavy module and the only functions allowed to load it when their module is imported.
USERS: dict[str, set[str]] = {
    # Email and SMS templates: only the sender renders.
    "jinja2": {"notifications-worker"},
    # A test and local-twin dependency: no function needs it.
    "pyotp": set(),
    # Flags are read through an AppConfig store built when first asked for a value.
    "aws_lambda_powertools.utilities.feature_flags": set(),
    # Powertools idempotency: the routes built on IdempotentRequests.
    "aws_lambda_powertools.utilities.idempotency": {"payouts-api", "refunds-api", "refunds-admin-api"},
    # Secrets are fetched on their first read, never by importing.
    "aws_lambda_powertools.utilities.parameters": set(),
    # HTTP outside AWS: the functions that build a provider client or probe the providers.
    "requests": {"ops-api", "ops-heartbeat", "ops-health-probe", "orders-admin-api", "tracking-worker",
                 "shipments-worker", "payouts-processor", "payouts-status", "payouts-api", "payouts-admin-api"},
}

PROBE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


def loaded_at_import(function) -> set[str]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")]),
        "AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_ACCESS_KEY_ID": "unit", "AWS_SECRET_ACCESS_KEY": "unit",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        # Lambda's own: with it Tracer is on and patches, as it does in Lambda.
        "LAMBDA_TASK_ROOT": str(ROOT),
        **SERVICE.function_environment(function, PlaceholderNames()),
    }
    output = subprocess.run([sys.executable, "-c", PROBE, function.module], env=environment, cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return set(json.loads(output.strip().splitlines()[-1]))


def test_no_function_imports_a_heavy_module_it_does_not_use():
    unexpected = []
    for function in SERVICE.functions:
        modules = loaded_at_import(function)
        for heavy, users in USERS.items():
            if heavy in modules and function.name not in users:
                unexpected.append(f"{function.name} imports {heavy}")
    assert unexpected == []


def test_the_guard_sees_a_module_its_user_loads():
    # The sender's templates are loaded by importing it: the probe does see what a module loads.
    assert "jinja2" in loaded_at_import(SERVICE.function("notifications-worker"))


TRACER_PROBE = """
import json, sys
from aws_xray_sdk.core import patcher
from bazaar.platform import observability
at_import = {"patched": sorted(patcher._PATCHED_MODULES), "requests": "requests" in sys.modules,
             "sqlite3": "sqlite3" in sys.modules}
observability.traced_http_session()
print(json.dumps({"at_import": at_import, "after_session": sorted(patcher._PATCHED_MODULES)}))
"""


def test_tracer_patches_aws_calls_at_import_and_outside_calls_where_a_session_is_made():
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")]),
                   "AWS_REGION": "ap-south-1", "LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "probe"}
    output = subprocess.run([sys.executable, "-c", TRACER_PROBE], env=environment, cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    seen = json.loads(output.strip().splitlines()[-1])
    assert seen["at_import"] == {"patched": ["botocore"], "requests": False, "sqlite3": False}
    assert seen["after_session"] == ["botocore", "requests"]
