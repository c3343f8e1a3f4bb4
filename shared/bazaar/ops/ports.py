from __future__ import annotations

from datetime import datetime
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


class OrdersChanged(Protocol):
    def changed_since(self, status, since: datetime) -> int:
        """How many orders are in `status` now and changed at or after `since`."""
        ...


class StatusBacklog(Protocol):
    def backlog(self, status) -> tuple[int, datetime | None]:
        """(how many items are in `status`, when the oldest of them was made)."""
        ...
