"""The monitor tasks' `after` hook: lifecycle, notifications, and their record.

Runs once the verdict is known (app.TaskSpec.after), so the engine is untouched and
nothing here can change the verdict or the exit code: every failure (history file,
endpoint) becomes a warning on the console and an event in the transcript.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from runbooks.alerts import lifecycle, notify
from runbooks.alerts.identity import observe
from runbooks.alerts.transport import Transport
from runbooks.config import Target
from runbooks.model import RunResult
from runbooks.record import append as record
from runbooks.record.console import Out
from runbooks.record.redact import Redactor


def process(result: RunResult, target: Target, out: Out, history: Path,
            settings: notify.Settings | None = None, transport: Transport | None = None) -> None:
    redactor = Redactor([*target.secrets(), *(settings.secrets if settings else [])])
    events: list[tuple[str, dict[str, Any]]] = []
    try:
        con = lifecycle_connection(history)
    except (sqlite3.Error, OSError) as exc:
        out.line(f"alert lifecycle unavailable ({history}): {exc}", "yellow", target.name)
        _record(result, redactor, [("alerts", {"updated": False, "mode": "none",
                                               "note": f"history unavailable: {exc}", "marks": [], "resolved": []})])
        return
    try:
        summary, deliveries = _run(con, result, target, out, settings, transport)
    except sqlite3.Error as exc:
        out.line(f"alert lifecycle not updated ({history}): {exc}", "yellow", target.name)
        summary, deliveries = {"updated": False, "mode": "none", "note": f"history error: {exc}",
                               "marks": [], "resolved": []}, []
    finally:
        con.close()
    events.append(("alerts", summary))
    events += [("notification", d.to_dict()) for d in deliveries]
    result.alerts = {"resolved": summary["resolved"], "notifications": [d.to_dict() for d in deliveries],
                     "alerts": {k: summary[k] for k in ("updated", "mode", "note", "silenced") if k in summary}}
    _record(result, redactor, events)


def lifecycle_connection(history: Path) -> sqlite3.Connection:
    from runbooks.packs.eatfit24.monitor.history import History

    return History(history).connect()


def _run(con: sqlite3.Connection, result: RunResult, target: Target, out: Out,
         settings: notify.Settings | None, transport: Transport | None) -> tuple[dict[str, Any], list[notify.Delivery]]:
    mode, note = lifecycle.completeness(result)
    transcript = str(Path(result.transcript).resolve()) if result.transcript else ""
    run = lifecycle.RunInfo(target.name, result.playbook, result.started_at, result.finished_at, result.verdict,
                            transcript)
    evaluated = lifecycle.resolvable(result)
    outcome = lifecycle.update(con, run, observe(result.findings) if mode != "none" else [], evaluated, mode, note)
    for f in result.findings:
        mark = outcome.marks.get(f.id)
        if f.status == "alert" and mark is not None:
            f.alert = mark.to_dict()
    if note:
        out.line(f"alerts: {note}", "dim", target.name)
    for r in outcome.resolved:
        out.line(f"RESOLVED {r.severity} {r.key}: first seen {r.first_seen}, last seen {r.last_seen}, "
                 f"seen in {r.seen} run(s)", "bold green", target.name)
    changes = lifecycle.pending_changes(con, target.name)
    silenced = [c for c in changes if c.acked]
    tell = [c for c in changes if not c.acked]
    if silenced:
        lifecycle.settle(con, silenced, told=False)
    deliveries: list[notify.Delivery] = []
    # Without --notify the changes stay pending: the next run with --notify tells them.
    if tell and settings is not None:
        deliveries = notify.send(con, settings, target.name, tell, transcript, transport)
        if any(d.ok for d in deliveries):
            lifecycle.settle(con, tell, told=True)
        for d in deliveries:
            if d.ok:
                out.line(f"notified {d.channel}: {', '.join(d.changes)}", "dim", target.name)
            else:
                verb = "deferred" if not d.sent else "FAILED"
                out.line(f"notification to {d.channel} {verb}: {d.error} (verdict unchanged)", "bold yellow",
                         target.name)
    summary = {"updated": outcome.updated, "mode": outcome.mode, "note": outcome.note,
               "marks": [{"finding": fid, **m.to_dict()} for fid, m in sorted(outcome.marks.items())],
               "resolved": [r.to_dict() for r in outcome.resolved],
               "silenced": [{"key": c.key, "change": c.kind, **(c.acked or {})} for c in silenced]}
    return summary, deliveries


def _record(result: RunResult, redactor: Redactor, events: list[tuple[str, dict[str, Any]]]) -> None:
    if not result.transcript:
        return
    try:
        record.append(Path(result.transcript).parent, redactor, events)
    except (OSError, ValueError, KeyError):
        pass  # the run's own record stays as it was
