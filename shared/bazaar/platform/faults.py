"""Named crash points: the steps of the money path where a Lambda instance dying would leave work
half-done (a payment asked for and not recorded, a shipment made and not written down...).

Production code marks each such step with one `crash_point("<step>")` line. In the cloud it is a
no-op: the directory of armed points (BAZAAR_CRASH_POINTS_DIR) is only ever set by the local twin,
and it is read once, at cold start. In the local twin a test arms a point over the twin's control
API (POST /_local/crash-points), which writes `<point>.armed` there; the first instance to reach
the point renames it to `<point>.fired` (atomic, so exactly one instance wins, whichever process
it runs in) and dies at once with `os._exit(137)`, as an instance killed mid-invocation does: no
`finally`, no `except`, no flushed buffers. The retries, redeliveries and schedules that follow run
the real code again, with the point no longer armed. docs/faults.md lists the points."""

from __future__ import annotations

import os

from bazaar.platform.settings import crash_points_scope

# Exit status of a process killed by SIGKILL (128 + 9), what an instance killed mid-invocation shows.
KILLED = 137

_DIRECTORY, _FUNCTION = crash_points_scope()


def crash_point(name: str) -> None:
    """Dies here, once, if the local twin armed `name` (for this function or for any)."""
    if _DIRECTORY is None:
        return
    armed = os.path.join(_DIRECTORY, f"{name}.armed")
    try:
        with open(armed, encoding="utf-8") as file:
            function = file.read().strip()
    except FileNotFoundError:
        return
    if function and function != _FUNCTION:
        return
    try:
        os.rename(armed, os.path.join(_DIRECTORY, f"{name}.fired"))
    except FileNotFoundError:
        return  # another instance reached it first and died in our place
    os._exit(KILLED)
