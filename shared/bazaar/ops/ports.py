from __future__ import annotations

from typing import Protocol

from bazaar.ops.domain import DependencyKind, JobRun


class DependencyProbe(Protocol):
    """Raises if the dependency cannot serve a request right now."""

    name: str
    kind: DependencyKind  # "core" (down without it) or "provider" (degraded without it)

    def check(self) -> None: ...


class JobRuns(Protocol):
    def record(self, run: JobRun) -> None: ...

    def latest(self, job: str, limit: int) -> list[JobRun]: ...
