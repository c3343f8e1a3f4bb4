"""Crash points can only ever be armed in the local twin: no function the cloud twin deploys, in
any stage, has the setting that names their directory (bazaar.platform.faults is a no-op without it)."""

from __future__ import annotations

import json

import pytest

from bazaar.platform.settings import CRASH_POINTS_DIR

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fixture", ["synthesized", "prod_synthesized"])
def test_no_deployed_function_can_arm_a_crash_point(request, fixture):
    synthesized = request.getfixturevalue(fixture)
    functions = 0
    for _, template in synthesized.template_files.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            functions += 1
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert CRASH_POINTS_DIR not in variables
        assert CRASH_POINTS_DIR not in json.dumps(template)
    assert functions > 30  # the check looked at the deployed functions, not at nothing
