"""The local twin's control of crash points (bazaar.platform.faults): a test arms a named point,
optionally for one function, and the first instance to reach it dies there, once. The runtime
treats the death as Lambda treats an instance that died mid-invocation (infra/local/runtime.py:
Runtime.ExitError), so the API answers 5xx, a queue redelivers after the visibility timeout, a
stream retries and a state machine's task sees the error its Retry matches.

Armed points are files in one directory, which every function's environment names
(BAZAAR_CRASH_POINTS_DIR): `<point>.armed` (holding the function's name, or nothing for any) until
an instance renames it to `<point>.fired` and dies.

  GET  /_local/crash-points         {"armed": {point: function or null}, "fired": [point, ...]}
  POST /_local/crash-points         {"point": "...", "function"?: "..."}: arms it (201)
  POST /_local/crash-points/reset   disarms every point and forgets what fired
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

# What production code names a point: the context's step, dotted (checkout.placed_before_payment_requested).
POINT_NAME = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")


class CrashPoints:
    def __init__(self, directory: Path, functions: frozenset[str]):
        self.directory = directory
        self.functions = functions

    def start(self) -> CrashPoints:
        """An empty directory: nothing a previous run armed or fired carries over."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        return self

    def arm(self, point: str, function: str | None = None) -> None:
        if not POINT_NAME.fullmatch(point):
            raise ValueError(f"{point!r} is not a crash point's name")
        if function is not None and function not in self.functions:
            raise ValueError(f"{function!r} is not a function of the stack")
        (self.directory / f"{point}.fired").unlink(missing_ok=True)
        armed = self.directory / f"{point}.armed"
        partial = armed.with_suffix(".arming")
        partial.write_text(function or "", encoding="utf-8")
        partial.rename(armed)  # whole or not at all: an instance never reads half a name

    def reset(self) -> None:
        for path in self.directory.iterdir():
            path.unlink(missing_ok=True)

    def describe(self) -> dict:
        armed = {p.name.removesuffix(".armed"): (p.read_text(encoding="utf-8") or None)
                 for p in sorted(self.directory.glob("*.armed"))}
        fired = sorted(p.name.removesuffix(".fired") for p in self.directory.glob("*.fired"))
        return {"armed": armed, "fired": fired}

    def control(self, method: str, path: str, body: bytes) -> tuple[int, dict] | None:
        """The answer to a /_local/crash-points request, or None if it is not one."""
        if path == "/_local/crash-points" and method == "GET":
            return 200, self.describe()
        if path == "/_local/crash-points" and method == "POST":
            try:
                request = json.loads(body or b"{}")
                self.arm(str(request["point"]), request.get("function"))
            except (ValueError, KeyError, TypeError) as error:
                return 400, {"error": {"code": "VALIDATION_FAILED", "message": str(error)}}
            return 201, self.describe()
        if path == "/_local/crash-points/reset" and method == "POST":
            self.reset()
            return 200, self.describe()
        return None
