"""`monitor.p0 --every 6h --for 24h`: the checklist's "run every 6 hours" in one command.

Each run is a normal run (own connection, own transcript, history recorded); between runs
we wait on an Event with a timeout, so Ctrl-C ends the loop at once with the summary of
the runs so far. The exit code is the worst run's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone

from runbooks.engine.verdict import worst_exit
from runbooks.errors import ABORTED, OK
from runbooks.packs.eatfit24.monitor.schedule import run_times
from runbooks.record.console import Out


def repeat(run_once: Callable[[], tuple[int, str, str]], every: str, for_: str | None, out: Out,
           stop: threading.Event | None = None, now: Callable[[], datetime] | None = None) -> int:
    """`run_once()` -> (exit code, verdict, transcript path). Returns the worst exit code."""
    clock = now or (lambda: datetime.now(timezone.utc))
    stop = stop or threading.Event()
    times = run_times(clock(), every, for_)
    rows: list[list[str]] = []
    worst = OK
    pending = list(times)
    try:
        while pending:
            due = pending[0]
            wait = (due - clock()).total_seconds()
            if wait > 0:
                out.line(f"next run at {due.isoformat(timespec='seconds')} (in {wait:.0f}s); Ctrl-C to stop", "dim")
                if stop.wait(wait):
                    break
            started = clock()
            code, verdict, transcript = run_once()
            rows.append([started.isoformat(timespec="seconds"), verdict.upper(), str(code), transcript])
            worst = worst_exit([worst, code])
            out.table(f"monitor runs so far ({len(rows)} of {len(times)})", ["started (UTC)", "verdict", "exit", "transcript"], rows)
            if code == ABORTED:  # Ctrl-C (or SIGTERM) inside a run ends that run AND the loop
                raise KeyboardInterrupt
            # A run that overran later slots is followed at once by ONE catch-up run, not a burst.
            now_ = clock()
            passed = [t for t in pending[1:] if t <= now_]
            pending = passed[-1:] + [t for t in pending[1:] if t > now_]
    except KeyboardInterrupt:
        out.line(f"stopped by the operator after {len(rows)} run(s)", "bold yellow")
        return ABORTED
    return worst
