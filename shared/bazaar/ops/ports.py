from __future__ import annotations

from typing import Protocol

from bazaar.ops.domain import JobRun


class DependencyProbe(Protocol):
    """Raises if the dependency cannot serve a request right now."""

    name: str

    def check(self) -> None: ...


class JobRuns(Protocol):
    def record(self, run: JobRun) -> None: ...

    def latest(self, job: str, limit: int) -> list[JobRun]: ...
