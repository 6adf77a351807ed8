"""What the report reads besides its own fresh run: earlier monitor runs of the target in
the window (their transcripts: findings with links) and the monitor history (SQLite rows
of metrics, which also cover runs whose transcripts live elsewhere)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from runbooks.report.criteria import CRITERIA, EarlierAlert, HistoryRow
from runbooks.transcripts.runs import Run, find_runs, parse_ts


def rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def is_monitor_run(run: Run) -> bool:
    return run.playbook.startswith("monitor.") or run.playbook == "report"


def earlier_alerts(transcript_dir: Path, target: str, since: str, exclude: Path | None,
                   link_base: Path) -> tuple[list[EarlierAlert], list[Run]]:
    ids = {fid for c in CRITERIA for fid in c.findings}
    runs = [r for r in find_runs(transcript_dir, since, strict=False) if r.target == target and is_monitor_run(r)
            and (exclude is None or r.dir.resolve() != exclude.resolve())]
    alerts: list[EarlierAlert] = []
    for r in runs:
        for f in r.findings():
            if f.get("status") == "alert" and f.get("id") in ids:
                alerts.append(EarlierAlert(f, str(f.get("ts", "")), rel(r.dir / "transcript.md", link_base), r.dir.name))
    return alerts, runs


def history_rows(path: Path, target: str, start: datetime | None) -> tuple[list[HistoryRow], str | None]:
    """Rows of the monitor's history DB for `target` since `start`, and a problem if unreadable.
    Opened read-only: the report never changes the history."""
    if not path.is_file():
        return [], f"no history file at {path}"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("SELECT started_at, playbook, metrics FROM runs WHERE target=? ORDER BY id",
                               (target,)).fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return [], f"history unreadable ({path}): {exc}"
    out: list[HistoryRow] = []
    for started, playbook, metrics in rows:
        try:
            t = parse_ts(str(started))
            m = json.loads(metrics)
        except (ValueError, TypeError):
            continue
        if start is None or t >= start:
            out.append(HistoryRow(str(started), str(playbook), m if isinstance(m, dict) else {}))
    return out, None
