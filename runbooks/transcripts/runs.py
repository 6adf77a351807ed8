"""Finding run folders in a transcripts directory and reading them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbooks.errors import InputError


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


def load_events(path: Path) -> list[dict[str, Any]]:
    """Every event of an events.jsonl, checked: a JSON object with an integer `seq`, a
    string `type` and an RFC 3339 `ts`. A last line cut mid-write (no newline: a crash) is
    left out; any other malformed line is an error naming file:line (exit 3), never a
    traceback half-way through a postmortem timeline."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    cut = lines.pop()
    out: list[dict[str, Any]] = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        out.append(_event(raw, path, n))
    if cut.strip():
        try:
            out.append(_event(cut, path, len(lines) + 1))
        except InputError:
            pass  # a line cut mid-write: the record ends before it (transcripts.verify says so)
    return out


def _event(raw: bytes, path: Path, n: int) -> dict[str, Any]:
    def bad(why: str) -> InputError:
        return InputError(f"{path}:{n}: malformed event ({why}); check the run with: inv transcripts.verify {path.parent}")

    try:
        ev = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("not UTF-8") from None
    except ValueError as exc:
        raise bad(f"not JSON: {exc.msg}" if hasattr(exc, "msg") else "not JSON") from None
    if not isinstance(ev, dict):
        raise bad(f"a JSON {type(ev).__name__}, not an object")
    if not isinstance(ev.get("seq"), int) or isinstance(ev.get("seq"), bool):
        raise bad(f"seq is {ev.get('seq')!r}, not an integer")
    if not isinstance(ev.get("type"), str):
        raise bad(f"type is {ev.get('type')!r}, not a string")
    ts = ev.get("ts")
    try:
        if not isinstance(ts, str):
            raise ValueError
        parse_ts(ts)
    except ValueError:
        raise bad(f"ts is {ts!r}, not an RFC 3339 time") from None
    return ev


def window_start(since: str | None, now: datetime | None = None) -> datetime | None:
    """The start of a `--since` window (same syntax as the monitor's), or None for everything."""
    if not since:
        return None
    from runbooks.packs.eatfit24.monitor.window import parse_since

    w = parse_since(since)
    if w.start_iso:
        return parse_ts(w.start_iso)
    now = now or datetime.now(timezone.utc)
    return datetime.fromtimestamp(now.timestamp() - int(w.seconds or 0), timezone.utc)


def find_runs(base: str | Path, since: str | None = None, now: datetime | None = None,
              strict: bool = True) -> list[Run]:
    """Every run folder under `base` (one level) with events, started within `since`,
    oldest first. A last line cut mid-write is ignored here (verify reports it); a malformed
    event elsewhere is an InputError naming file:line, or (strict=False) skips that run."""
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
            try:
                events = load_events(ev_path)
            except OSError as exc:
                raise InputError(f"{ev_path}: cannot read: {exc.strerror or exc}") from exc
        except InputError:
            if strict:
                raise
            continue
        run = Run(d, events)
        t = run.start_time
        if t is None or (start is not None and t < start):
            continue
        runs.append(run)
    runs.sort(key=lambda r: (r.start_time or datetime.min.replace(tzinfo=timezone.utc), r.dir.name))
    return runs
