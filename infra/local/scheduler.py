"""EventBridge schedule emulation (moto stores rules but never fires them).

Each described schedule fires its function with the scheduled event on its rate or cron, in UTC.
`clock_speed` > 1 makes time pass faster for the schedules (a 5-minute rate fires every
300/clock_speed seconds); `run_now(name)` fires one at once (the gateway exposes it as
POST /_local/schedules/<name>/run)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from infra.description.model import Function, Schedule
from infra.local import events
from infra.local.runtime import STOPPED, FunctionRuntime

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}


class UnsupportedExpression(ValueError):
    pass


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """One cron field -> the set of allowed values, or None for any (`*` / `?`)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        if "#" in part or re.fullmatch(r"\d*L|\d+W|LW", part.upper()):
            raise UnsupportedExpression(f"cron field {text!r}: L, W and # are not emulated locally")
        base, _, step = part.partition("/")
        if base in ("*", ""):
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-")
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(base, names)
            end = high if step else start
        values.update(range(start, end + 1, int(step) if step else 1))
    if not all(low <= v <= high for v in values):
        raise UnsupportedExpression(f"cron field {text!r} is out of range {low}-{high}")
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    return names[text.upper()] if names and text.upper() in names else int(text)


@dataclass(frozen=True)
class Cadence:
    """When a schedule expression fires next, after a given moment (UTC)."""

    interval: timedelta | None = None
    minutes: set[int] | None = None
    hours: set[int] | None = None
    days: set[int] | None = None
    months: set[int] | None = None
    weekdays: set[int] | None = None  # 1=Sunday .. 7=Saturday, as EventBridge counts
    years: set[int] | None = None

    @classmethod
    def parse(cls, expression: str) -> Cadence:
        rate = re.fullmatch(r"rate\((\d+) (\w+)\)", expression)
        if rate:
            return cls(interval=timedelta(seconds=int(rate.group(1)) * _UNITS[rate.group(2)]))
        cron = re.fullmatch(r"cron\((.+)\)", expression)
        if not cron or len(cron.group(1).split()) != 6:
            raise UnsupportedExpression(f"{expression!r} is neither rate(...) nor a six-field cron(...)")
        minute, hour, day, month, weekday, year = cron.group(1).split()
        return cls(
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days=_field(day, 1, 31),
            months=_field(month, 1, 12, _MONTHS),
            weekdays=_field(weekday, 1, 7, _DAYS),
            years=_field(year, 1970, 2199),
        )

    def next_after(self, moment: datetime) -> datetime:
        if self.interval is not None:
            return moment + self.interval
        candidate = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(60 * 24 * 366 * 2):
            if self._matches(candidate):
                return candidate
            candidate += timedelta(minutes=1)
        raise UnsupportedExpression("cron expression never fires within two years")

    def _matches(self, t: datetime) -> bool:
        weekday = (t.isoweekday() % 7) + 1
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.minutes, t.minute), (self.hours, t.hour), (self.days, t.day),
                (self.months, t.month), (self.weekdays, weekday), (self.years, t.year),
            )
        )


@dataclass
class ScheduleState:
    function: Function
    schedule: Schedule
    cadence: Cadence
    rule_name: str
    next_fire: datetime
    runs: list[dict] = field(default_factory=list)


class Scheduler:
    def __init__(self, schedules: list[tuple[Function, Schedule]], runtimes: dict[str, FunctionRuntime],
                 rule_prefix: str, clock_speed: float = 1.0, log=print):
        self.clock_speed = clock_speed
        self.runtimes = runtimes
        self.log = log
        self._started_real = time.monotonic()
        self._started_virtual = datetime.now(UTC)
        now = self.now()
        self.states = {
            s.name: ScheduleState(f, s, Cadence.parse(s.expression), f"{rule_prefix}-{s.name}",
                                  Cadence.parse(s.expression).next_after(now))
            for f, s in schedules
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._fires: set[threading.Thread] = set()

    def now(self) -> datetime:
        """Schedule time: real time, sped up by clock_speed since the scheduler started."""
        elapsed = (time.monotonic() - self._started_real) * self.clock_speed
        return self._started_virtual + timedelta(seconds=elapsed)

    def start(self) -> None:
        if not self._stop.is_set():
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Idempotent, never raises: no fire starts after it begins; it waits (at most `timeout`
        seconds in all) for the clock thread and the fires in flight."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            fires = list(self._fires)
        for fire in fires:
            fire.join(timeout=max(0.0, deadline - time.monotonic()))

    @property
    def fires_in_flight(self) -> int:
        with self._lock:
            return len(self._fires)

    def run_now(self, name: str) -> dict:
        state = self.states[name]
        return self._fire(state, self.now())

    def describe(self) -> list[dict]:
        with self._lock:
            return [
                {
                    "name": s.schedule.name,
                    "expression": s.schedule.expression,
                    "function": s.function.name,
                    "rule": s.rule_name,
                    "next_fire": s.next_fire.isoformat(),
                    "last_runs": s.runs[-5:],
                }
                for s in self.states.values()
            ]

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            now = self.now()
            for state in list(self.states.values()):
                if state.next_fire <= now:
                    with self._lock:
                        if self._stop.is_set():
                            return
                        state.next_fire = state.cadence.next_after(state.next_fire if state.cadence.interval else now)
                        fire = threading.Thread(target=self._fire_in_background, args=(state, now),
                                                name=f"schedule:{state.schedule.name}", daemon=True)
                        self._fires.add(fire)
                        fire.start()  # under the lock: stop() never sees a fire it cannot join

    def _fire_in_background(self, state: ScheduleState, at: datetime) -> None:
        try:
            self._fire(state, at)
        except Exception as error:  # noqa: BLE001 - one fire failing never stops the clock
            if not self._stop.is_set():
                self.log({"schedule": state.schedule.name, "error": repr(error)})
        finally:
            with self._lock:
                self._fires.discard(threading.current_thread())

    def _fire(self, state: ScheduleState, at: datetime) -> dict:
        if self._stop.is_set():
            return {"at": at.isoformat(), "duration_ms": 0.0, "ok": False, "error": "scheduler stopped",
                    "result": None}
        invocation = self.runtimes[state.function.name].invoke(events.scheduled_event(state.rule_name, at))
        if (invocation.error or {}).get("errorType") == STOPPED["errorType"]:
            return {"at": at.isoformat(), "duration_ms": invocation.duration_ms, "ok": False,
                    "error": (invocation.error or {}).get("errorMessage"), "result": None}  # stopping: not a run
        run = {
            "at": at.isoformat(),
            "duration_ms": invocation.duration_ms,
            "ok": not invocation.failed,
            "error": (invocation.error or {}).get("errorMessage"),
            "result": invocation.payload if not invocation.failed else None,
        }
        with self._lock:
            state.runs.append(run)
            del state.runs[:-20]
        if invocation.failed:
            self.log({"schedule": state.schedule.name, "error": run["error"]})
        return run
