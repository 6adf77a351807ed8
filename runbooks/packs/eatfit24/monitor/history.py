"""History: every monitor run's metrics in an embedded SQLite DB, for baselines.

Path: `$RUNBOOKS_HISTORY` if set, else `<transcript_dir>/history.sqlite3`. Zero setup: the
file and tables are created on first use. Runs are keyed by target and window (`since`
plus `tail`), so a 6-hour run is never compared with a 24-hour one.

The same file holds the alert lifecycle (runbooks/alerts): problems, the runs that saw
them, acknowledgements and notification attempts. The schema is versioned with SQLite's
`PRAGMA user_version`; `MIGRATIONS[n]` brings a file from version n to n+1, so a history
file written by an older runbooks (version 0: only `runs`) is upgraded in place on first
use, in one transaction, keeping every row.
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

from runbooks.packs.eatfit24.monitor.anomaly import BASELINE_METRICS, Baseline

SCHEMA_V1 = """
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

# Alert lifecycle (see runbooks/alerts/lifecycle.py for the meaning of each column).
SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS alert_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    playbook TEXT NOT NULL,
    started_at TEXT NOT NULL,
    verdict TEXT NOT NULL,
    transcript TEXT NOT NULL,
    updated INTEGER NOT NULL,       -- 1: its facts were complete enough to update problems
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_runs_target ON alert_runs (target, id);
CREATE TABLE IF NOT EXISTS problems (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    finding TEXT NOT NULL,
    findings TEXT NOT NULL,         -- JSON list: every finding id seen as part of it
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    action TEXT NOT NULL,
    objects TEXT NOT NULL,          -- JSON list of object names last seen ("photo=42")
    primary_objects TEXT NOT NULL,  -- JSON list: the named objects of its main finding
    count INTEGER NOT NULL,
    max_count INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    seen INTEGER NOT NULL,
    state TEXT NOT NULL,            -- open | resolved
    resolved_at TEXT,
    resolved_run INTEGER,
    pending TEXT,                   -- new | escalated | resolved: a change not yet notified
    announced INTEGER NOT NULL DEFAULT 0,
    notified_count INTEGER NOT NULL DEFAULT 0,
    notified_severity TEXT,
    evidence TEXT NOT NULL DEFAULT '[]',
    last_transcript TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS problems_target_state ON problems (target, state, id);
CREATE TABLE IF NOT EXISTS sightings (
    problem_id INTEGER NOT NULL REFERENCES problems(id),
    run_id INTEGER NOT NULL REFERENCES alert_runs(id),
    count INTEGER NOT NULL,
    PRIMARY KEY (problem_id, run_id)
);
CREATE TABLE IF NOT EXISTS acks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    until TEXT NOT NULL,
    who TEXT NOT NULL,
    why TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS acks_target_key ON acks (target, key, until);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    channel TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    kinds TEXT NOT NULL,            -- JSON list of the changes it carried ("new stuck_photos:photo=4")
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS notifications_target ON notifications (target, channel, sent_at);
"""
MIGRATIONS: tuple[str, ...] = (SCHEMA_V1, SCHEMA_V2)  # MIGRATIONS[n]: version n -> n + 1
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(con: sqlite3.Connection) -> int:
    """Bring an open history DB to SCHEMA_VERSION (idempotent; one transaction per step).
    Returns the version found. A file from a NEWER runbooks is left alone."""
    found = int(con.execute("PRAGMA user_version").fetchone()[0])
    if found >= SCHEMA_VERSION:
        return found
    con.execute("BEGIN IMMEDIATE")
    try:
        current = int(con.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
        for version in range(current, SCHEMA_VERSION):
            for stmt in MIGRATIONS[version].split(";"):
                if stmt.strip():
                    con.execute(stmt)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return found


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
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            migrate(con)
        except BaseException:
            con.close()
            raise
        con.isolation_level = "DEFERRED"  # the default again: `with con:` commits
        return con

    def connect(self) -> sqlite3.Connection:
        """An open, migrated connection (the caller closes it)."""
        return self._connect()

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
