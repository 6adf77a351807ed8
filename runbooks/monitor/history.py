"""History: every monitor run's metrics in an embedded SQLite DB, for baselines.

Path: `$RUNBOOKS_HISTORY` if set, else `<transcript_dir>/history.sqlite3`. Zero setup: the
file and table are created on first use. Runs are keyed by target and window (`since`
plus `tail`), so a 6-hour run is never compared with a 24-hour one.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import statistics
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from .anomaly import BASELINE_METRICS, Baseline

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    window TEXT NOT NULL,
    playbook TEXT NOT NULL,
    started_at TEXT NOT NULL,
    metrics TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_target_window ON runs (target, window, id);
"""


def history_path(transcript_dir: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("RUNBOOKS_HISTORY"):
        return Path(env["RUNBOOKS_HISTORY"]).expanduser()
    base = transcript_dir or env.get("RUNBOOKS_TRANSCRIPTS") or "transcripts"
    return Path(base).expanduser() / "history.sqlite3"


def window_key(since: str, tail: int | None) -> str:
    return f"since={since};tail={tail if tail else 'all'}"


class History:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        con.executescript(SCHEMA)
        return con

    def record(self, target: str, window: str, playbook: str, metrics: Mapping[str, float | int | None],
               started_at: str | None = None) -> int:
        clean = {k: v for k, v in metrics.items() if v is None or (isinstance(v, (int, float)) and math.isfinite(v))}
        when = started_at or datetime.now(timezone.utc).isoformat()
        con = self._connect()
        try:
            with con:
                cur = con.execute("INSERT INTO runs (target, window, playbook, started_at, metrics) VALUES (?,?,?,?,?)",
                                  (target, window, playbook, when, json.dumps(clean, sort_keys=True)))
            return int(cur.lastrowid or 0)
        finally:
            con.close()

    def earlier(self, target: str, window: str, limit: int = 20) -> list[dict[str, float | int | None]]:
        """The most recent `limit` runs' metrics for target+window, newest first."""
        con = self._connect()
        try:
            rows = con.execute("SELECT metrics FROM runs WHERE target=? AND window=? ORDER BY id DESC LIMIT ?",
                               (target, window, int(limit))).fetchall()
        finally:
            con.close()
        return [json.loads(r[0]) for r in rows]

    def baselines(self, target: str, window: str, metrics: Iterable[str] = BASELINE_METRICS,
                  limit: int = 20) -> dict[str, Baseline]:
        """Median of each metric over earlier runs that had a value for it. Call BEFORE
        recording the current run: the current run never contributes to its own baseline."""
        runs = self.earlier(target, window, limit)
        out: dict[str, Baseline] = {}
        for name in metrics:
            values = [float(v) for r in runs if isinstance(v := r.get(name), (int, float))]
            out[name] = Baseline(len(values), statistics.median(values) if values else None)
        return out
