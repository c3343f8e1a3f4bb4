"""The entry points under functions/ stay thin, read from the code itself: each handler is at
most 60 lines (schema -> command -> one use case -> schema), no entry point talks to AWS or
knows a storage key, and the environment is read in the settings modules only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted((ROOT / "functions").rglob("*.py"))
SETTINGS_MODULES = {ROOT / "shared/bazaar/platform/settings.py", ROOT / "shared/bazaar/payments/config.py"}
MAX_HANDLER_LINES = 60


def test_every_handler_is_at_most_sixty_lines():
    long = []
    for path in FUNCTIONS:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_HANDLER_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.name} ({lines} lines)")
    assert long == []


def test_entry_points_neither_talk_to_aws_nor_know_storage_keys():
    found = []
    for path in FUNCTIONS:
        text = path.read_text()
        for pattern in (r"\bimport boto3\b", r"\bboto3\.", r"[\"'](pk|sk)[\"']", r"[A-Z]+#"):
            if re.search(pattern, text):
                found.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert found == []


def test_the_environment_is_read_in_settings_modules_only():
    readers = [
        str(path.relative_to(ROOT))
        for path in [*FUNCTIONS, *(ROOT / "shared").rglob("*.py")]
        if path not in SETTINGS_MODULES and re.search(r"\bos\.(environ|getenv)\b", path.read_text())
    ]
    assert readers == []


def test_no_setting_falls_back_to_an_empty_value():
    fallbacks = [
        str(path.relative_to(ROOT))
        for path in [*FUNCTIONS, *(ROOT / "shared").rglob("*.py")]
        if re.search(r"settings\.\w+ or (\"\"|''|None|0)", path.read_text())
    ]
    assert fallbacks == []
