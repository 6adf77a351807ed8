"""Finding run folders in a transcripts directory and reading them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..transcript import read_events


def parse_ts(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone.utc)


@dataclass
class Run:
    dir: Path
    events: list[dict[str, Any]]

    @property
    def started(self) -> dict[str, Any]:
        return next((e for e in self.events if e.get("type") == "run_started"), {})

    @property
    def finished(self) -> dict[str, Any] | None:
        return next((e for e in reversed(self.events) if e.get("type") == "run_finished"), None)

    @property
    def start_time(self) -> datetime | None:
        ts = self.started.get("ts") or (self.events[0].get("ts") if self.events else None)
        try:
            return parse_ts(ts) if ts else None
        except ValueError:
            return None

    @property
    def target(self) -> str:
        return str(self.started.get("target", ""))

    @property
    def playbook(self) -> str:
        return str(self.started.get("playbook", ""))

    def findings(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "finding"]


def window_start(since: str | None, now: datetime | None = None) -> datetime | None:
    """The start of a `--since` window (same syntax as the monitor's), or None for everything."""
    if not since:
        return None
    from ..monitor.window import parse_since

    w = parse_since(since)
    if w.start_iso:
        return parse_ts(w.start_iso)
    now = now or datetime.now(timezone.utc)
    return datetime.fromtimestamp(now.timestamp() - int(w.seconds or 0), timezone.utc)


def find_runs(base: str | Path, since: str | None = None, now: datetime | None = None) -> list[Run]:
    """Every run folder under `base` (one level) with events, started within `since`,
    oldest first. Unreadable trailing lines are ignored here (verify reports them)."""
    root = Path(base)
    if not root.is_dir():
        return []
    start = window_start(since, now)
    runs: list[Run] = []
    for d in sorted(root.iterdir()):
        ev_path = d / "events.jsonl"
        if not ev_path.is_file():
            continue
        try:
            events = read_events(ev_path)
        except (OSError, UnicodeDecodeError):
            continue
        run = Run(d, events)
        t = run.start_time
        if t is None or (start is not None and t < start):
            continue
        runs.append(run)
    runs.sort(key=lambda r: (r.start_time or datetime.min.replace(tzinfo=timezone.utc), r.dir.name))
    return runs
