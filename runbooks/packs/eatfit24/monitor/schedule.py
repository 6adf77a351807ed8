"""`monitor.p0 --every 6h --for 24h`: when to run (pure; the lead runs the loop).

Runs happen at start, start+every, ... while <= start+for; `--for` defaults to one run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from runbooks.errors import InputError
from runbooks.packs.eatfit24.monitor.window import duration_seconds


def parse_duration(value: object, flag: str) -> timedelta:
    if not isinstance(value, str):
        raise InputError(f"{flag}: expected a duration like 30m, 6h, 1d, got {value!r}")
    try:
        return timedelta(seconds=duration_seconds(value.strip()))
    except ValueError as exc:
        raise InputError(f"{flag}: {exc}") from None


def run_times(start: datetime, every: str | None, for_: str | None, max_runs: int = 1000) -> list[datetime]:
    """The planned run times. `every` without `for` repeats until interrupted: callers get
    the first `max_runs` (use `next_run` for open-ended loops)."""
    if every is None:
        if for_ is not None:
            raise InputError("--for needs --every")
        return [start]
    step = parse_duration(every, "--every")
    if for_ is None:
        return [start + i * step for i in range(max_runs)]
    span = parse_duration(for_, "--for")
    if span < step:
        raise InputError(f"--for {for_} is shorter than --every {every}: only one run would happen")
    n = int(span / step) + 1
    if n > max_runs:
        raise InputError(f"--every {every} --for {for_} means {n} runs (more than {max_runs})")
    return [start + i * step for i in range(n)]


def next_run(times: list[datetime], now: datetime) -> datetime | None:
    """The first planned time not yet past (None when the schedule is over)."""
    return next((t for t in times if t >= now), None)
