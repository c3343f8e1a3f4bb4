"""The contexts under shared/bazaar depend on each other in one direction only: no import cycle
between contexts, read from the code's own imports (function-level imports included). The
layers below say who may use whom; a new dependency either fits them or changes them here, on
purpose."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "shared" / "bazaar"
# Foundations every context may use.
GROUND = {"platform", "money"}
# Each context with the contexts it may import (directly). Read top to bottom: a context uses
# only what is listed for it, so the graph has no cycle.
ALLOWED = {
    "catalog": set(),
    "identity": set(),
    "payments": set(),
    "orders": {"catalog", "identity", "payments"},
    "shipping": {"orders", "identity"},
    "checkout": {"catalog", "orders", "payments", "ops"},
    "notifications": {"orders", "payouts", "refunds", "identity"},  # emails go to the address identity holds
    "refunds": {"orders", "payouts", "identity", "payments"},
    "payouts": {"orders", "identity"},
    # Diagnostics read the orders table's indexes, pending payments, and unsettled refunds and payouts.
    "ops": {"orders", "payments", "refunds", "payouts"},
    "realtime": {"orders", "payouts", "refunds"},  # reads their events, nothing else
}


def _context_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "bazaar" else None


def imports_between_contexts() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        source = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                target = _context_of(name)
                if target and target != source and target not in GROUND:
                    graph.setdefault(source, set()).add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if state.get(nxt) is None and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None and (found := visit(start, [])):
            return found
    return None


def test_no_import_cycle_between_contexts():
    cycle = _cycle(imports_between_contexts())
    assert cycle is None, "contexts import each other in a circle: " + " -> ".join(cycle or [])


def test_every_context_uses_only_the_contexts_below_it():
    unexpected = {source: sorted(targets - ALLOWED.get(source, set()))
                  for source, targets in imports_between_contexts().items()
                  if targets - ALLOWED.get(source, set())}
    assert unexpected == {}, f"new dependencies between contexts: {unexpected}"


def test_the_allowed_layers_themselves_have_no_cycle():
    assert _cycle(ALLOWED) is None


def test_the_checker_sees_a_cycle_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
