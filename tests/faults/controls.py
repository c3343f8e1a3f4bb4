"""What the fault suites share: a twin control (the AWS fault proxy's, the crash points') is
cleared before and after each test that uses it, so no fault outlives its test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar


class Resettable(Protocol):
    def reset(self) -> None: ...


Control = TypeVar("Control", bound=Resettable)


def reset_around(control: Control) -> Iterator[Control]:
    control.reset()
    yield control
    control.reset()
