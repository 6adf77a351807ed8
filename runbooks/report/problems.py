"""Distinct problems of the window (the alert lifecycle in the history DB): each listed once
with first/last seen and links to the runs that saw it, however many runs repeated it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runbooks.report.sources import rel
from runbooks.transcripts.runs import parse_ts

MAX_LINKS = 12


@dataclass
class Problem:
    key: str
    finding: str
    findings: list[str]
    severity: str
    state: str
    first_seen: str
    last_seen: str
    seen: int
    count: int
    max_count: int
    resolved_at: str | None
    runs: list[dict[str, Any]] = field(default_factory=list)  # {ts, link, count}

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "finding": self.finding, "findings": self.findings, "severity": self.severity,
                "state": self.state, "first_seen": self.first_seen, "last_seen": self.last_seen, "seen": self.seen,
                "count": self.count, "max_count": self.max_count, "resolved_at": self.resolved_at,
                "runs": self.runs}


@dataclass
class Problems:
    problems: list[Problem]
    runs: int  # monitor runs of the target in the window
    updating_runs: int  # of which had complete enough facts to update problems
    problem: str | None = None  # why the list may be incomplete

    def to_dict(self) -> dict[str, Any]:
        return {"distinct": len(self.problems), "runs": self.runs, "runs_updating": self.updating_runs,
                "problems": [p.to_dict() for p in self.problems], "note": self.problem}


def _in(ts: str, start: datetime | None) -> bool:
    try:
        return start is None or parse_ts(ts) >= start
    except ValueError:
        return False


def load(path: Path, target: str, start: datetime | None, link_base: Path) -> Problems:
    if not path.is_file():
        return Problems([], 0, 0, f"no history file at {path}")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            runs = [(ts, upd) for ts, upd in con.execute("SELECT started_at, updated FROM alert_runs WHERE target=?",
                                                         (target,)) if _in(ts, start)]
            rows = con.execute("SELECT id, key, finding, findings, severity, state, first_seen, last_seen, seen, "
                               "count, max_count, resolved_at FROM problems WHERE target=? ORDER BY first_seen, id",
                               (target,)).fetchall()
            out: list[Problem] = []
            for (pid, key, finding, findings, sev, state, first, last, seen, count, max_count, resolved) in rows:
                if state != "open" and not _in(last, start):
                    continue
                seen_in = con.execute("SELECT r.started_at, r.transcript, s.count FROM sightings s JOIN alert_runs r "
                                      "ON r.id = s.run_id WHERE s.problem_id=? ORDER BY r.id", (pid,)).fetchall()
                links = [{"ts": ts, "count": n,
                          "link": rel(Path(tr), link_base) if tr else None} for ts, tr, n in seen_in if _in(ts, start)]
                out.append(Problem(key, finding, json.loads(findings), sev, state, first, last, int(seen), int(count),
                                   int(max_count), resolved, links[:MAX_LINKS]))
        finally:
            con.close()
    except sqlite3.Error as exc:
        return Problems([], 0, 0, f"alert history unreadable ({path}): {exc}")
    return Problems(out, len(runs), sum(1 for _, u in runs if u))
