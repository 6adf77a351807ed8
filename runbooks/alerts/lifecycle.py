"""Problems across runs of one target: new, ongoing, resolved; acknowledgements; what
changed since the team was last told.

Which runs count (`completeness`):
  * a run whose verdict is unknown, error or aborted (a configured source failed, the host
    could not run the checks, the operator stopped it) changes nothing: recorded as a run
    that did not update, its problems "not seen either way";
  * a run where a fact source failed but the checks ran (gather errors, a failed step) is
    *partial*: what alerted is seen (new/ongoing), nothing is resolved;
  * otherwise the run is *full*: a problem is resolved when its main finding was
    evaluated (status ok or alert) and no longer alerts on any of its objects. A finding
    the run did not evaluate (another section's task, skipped, error, no baseline) leaves
    its problems as they were.

A problem continues (ongoing) when a finding of the run shares a finding id AND an object
with it (for rate findings without objects: the finding id alone); otherwise the
observation is a new problem (identity.py names it).

Notification bookkeeping, per problem: `pending` is the change not yet told (new,
escalated, resolved), `announced` says the team was told it exists. Escalation: the
severity got worse than when last told, or the count reached ESCALATION_FACTOR times the
count last told. A change stays pending until a run with --notify delivers it (runs
without --notify, a failed or rate-limited send leave it for the next one). A problem
never announced (acknowledged, or resolved before any run told it) is not announced as
resolved either.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbooks.alerts.identity import SEVERITY_RANK, Observation, sort_objects
from runbooks.model import RunResult

ESCALATION_FACTOR = 2.0  # count at least doubled since the team was last told
NOT_UPDATING = ("unknown", "error", "aborted")


@dataclass(frozen=True)
class RunInfo:
    target: str
    playbook: str
    started_at: str
    finished_at: str
    verdict: str
    transcript: str


@dataclass
class Mark:
    """How one alerting finding relates to the problems seen before."""

    key: str
    state: str  # new | ongoing
    first_seen: str
    last_seen: str
    seen: int
    problem_id: int
    acked: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "state": self.state, "first_seen": self.first_seen,
                             "last_seen": self.last_seen, "seen": self.seen}
        if self.acked:
            d["acked"] = self.acked
        return d


@dataclass
class Resolved:
    key: str
    finding: str
    severity: str
    first_seen: str
    last_seen: str
    resolved_at: str
    seen: int
    problem_id: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "finding": self.finding, "severity": self.severity, "first_seen": self.first_seen,
                "last_seen": self.last_seen, "resolved_at": self.resolved_at, "seen": self.seen}


@dataclass
class Outcome:
    updated: bool
    mode: str  # full | partial | none
    note: str
    run_id: int | None = None
    marks: dict[str, Mark] = field(default_factory=dict)  # finding id -> mark
    resolved: list[Resolved] = field(default_factory=list)


@dataclass
class Change:
    """A change the team has not been told about yet."""

    problem_id: int
    kind: str  # new | escalated | resolved
    key: str
    finding: str
    findings: list[str]
    severity: str
    count: int
    title: str
    action: str
    objects: list[str]
    first_seen: str
    last_seen: str
    seen: int
    resolved_at: str | None
    transcript: str
    told_count: int = 0  # the count when the team was last told
    evidence: list[Any] = field(default_factory=list)  # the main finding's first evidence items
    acked: dict[str, Any] | None = None

    def label(self) -> str:
        return f"{self.kind} {self.key}"


def completeness(result: RunResult) -> tuple[str, str]:
    """(full | partial | none, why) for a finished run."""
    if result.verdict in NOT_UPDATING:
        return "none", f"verdict {result.verdict}: problems neither seen nor resolved by this run"
    errors: dict[str, Any] = {}
    for facts in result.facts.values():
        if isinstance(facts, Mapping) and isinstance(facts.get("errors"), Mapping):
            errors.update(facts["errors"])
    failed = [s.name for s in result.steps if s.status in ("failed", "timeout", "aborted")]
    if errors or failed or result.verdict == "failed":
        why = ", ".join(sorted(errors)) or ", ".join(failed) or "a step failed"
        return "partial", f"facts incomplete ({why}): alerts counted, nothing marked resolved"
    return "full", ""


def resolvable(result: RunResult) -> set[str]:
    """Finding ids this run could clear: evaluated (ok or alert) on sources it fully saw. A
    log whose container was recreated inside the window, or a `--tail` that was reached
    (coverage `partial`), cannot prove an exception is gone: its findings keep their
    problems open."""
    from runbooks.packs.eatfit24.monitor.sections import NEEDS

    shaky = {src for src, c in (result.coverage or {}).items()
             if isinstance(c, Mapping) and c.get("status") in ("partial", "error")}
    if "serializer" in shaky:  # the server-side render backs the API checks
        shaky.add("api")
    return {f.id for f in result.findings
            if f.status in ("ok", "alert") and not (set(NEEDS.get(f.id, ())) & shaky)}


def _now_iso() -> str:
    from runbooks.record.transcript import iso, utcnow

    return iso(utcnow())


def active_acks(con: sqlite3.Connection, target: str, now: str | None = None) -> dict[str, dict[str, Any]]:
    now = now or _now_iso()
    rows = con.execute("SELECT key, until, who, why, created_at FROM acks WHERE target=? AND until>? ORDER BY id",
                       (target, now)).fetchall()
    return {k: {"until": u, "by": w, "why": y, "at": c} for k, u, w, y, c in rows}


_COLS = ("id, key, finding, findings, severity, title, action, objects, primary_objects, count, max_count, "
         "first_seen, last_seen, seen, state, resolved_at, pending, announced, notified_count, notified_severity, "
         "last_transcript")


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip([c.strip() for c in _COLS.split(",")], r, strict=True))
    for k in ("findings", "objects", "primary_objects"):
        d[k] = json.loads(d[k])
    return d


def open_problems(con: sqlite3.Connection, target: str) -> list[dict[str, Any]]:
    return [_row(r) for r in con.execute(f"SELECT {_COLS} FROM problems WHERE target=? AND state='open' ORDER BY id",
                                         (target,)).fetchall()]


def _escalated(row: Mapping[str, Any], obs: Observation) -> bool:
    if not row["announced"]:
        return False
    told_sev = row["notified_severity"] or row["severity"]
    if SEVERITY_RANK.get(obs.severity, 9) < SEVERITY_RANK.get(told_sev, 9):
        return True
    told = max(1, int(row["notified_count"] or 0))
    return obs.count >= told * ESCALATION_FACTOR


def update(con: sqlite3.Connection, run: RunInfo, observations: Iterable[Observation], evaluated: set[str],
           mode: str, note: str = "") -> Outcome:
    """Record one run and move the target's problems along (one transaction)."""
    obs_list = list(observations)
    with con:
        con.execute("BEGIN IMMEDIATE")
        cur = con.execute("INSERT INTO alert_runs (target, playbook, started_at, verdict, transcript, updated, note) "
                          "VALUES (?,?,?,?,?,?,?)", (run.target, run.playbook, run.started_at, run.verdict,
                                                     run.transcript, int(mode != "none"), note))
        run_id = int(cur.lastrowid or 0)
        out = Outcome(updated=mode != "none", mode=mode, note=note, run_id=run_id)
        if mode == "none":
            return out
        acks = active_acks(con, run.target)
        rows = open_problems(con, run.target)
        matched: dict[int, dict[str, Any]] = {}  # problem id -> row
        for obs in obs_list:
            mine = [r for r in rows if set(r["findings"]) & set(obs.findings)
                    and ((set(r["objects"]) & obs.objects) or (not r["objects"] and not obs.objects))]
            if mine:
                for r in mine:
                    pending = r["pending"]
                    if pending is None and _escalated(r, obs):
                        pending = "escalated"
                    findings = sorted(set(r["findings"]) | set(obs.findings))
                    con.execute(
                        "UPDATE problems SET last_seen=?, seen=seen+1, count=?, max_count=MAX(max_count, ?), "
                        "objects=?, findings=?, severity=?, evidence=?, last_transcript=?, pending=? WHERE id=?",
                        (run.started_at, obs.count, obs.count, json.dumps(sort_objects(obs.objects)),
                         json.dumps(findings), obs.severity, json.dumps(list(obs.evidence), default=str),
                         run.transcript, pending, r["id"]))
                    con.execute("INSERT OR IGNORE INTO sightings (problem_id, run_id, count) VALUES (?,?,?)",
                                (r["id"], run_id, obs.count))
                    matched[r["id"]] = r
                first = mine[0]
                mark = Mark(first["key"], "ongoing", first["first_seen"], run.started_at, int(first["seen"]) + 1,
                            int(first["id"]), acks.get(first["key"]))
            else:
                cur = con.execute(
                    "INSERT INTO problems (target, key, finding, findings, severity, title, action, objects, "
                    "primary_objects, count, max_count, first_seen, last_seen, seen, state, pending, evidence, "
                    "last_transcript) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,1,'open','new',?,?)",
                    (run.target, obs.key, obs.finding, json.dumps(list(obs.findings)), obs.severity, obs.title,
                     obs.action, json.dumps(sort_objects(obs.objects)), json.dumps(list(obs.primary)), obs.count,
                     obs.count, run.started_at, run.started_at, json.dumps(list(obs.evidence), default=str),
                     run.transcript))
                pid = int(cur.lastrowid or 0)
                con.execute("INSERT INTO sightings (problem_id, run_id, count) VALUES (?,?,?)", (pid, run_id, obs.count))
                mark = Mark(obs.key, "new", run.started_at, run.started_at, 1, pid, acks.get(obs.key))
            for fid in obs.findings:
                out.marks[fid] = mark
        if mode == "full":
            for r in rows:
                if r["id"] in matched or r["finding"] not in evaluated:
                    continue
                pending = "resolved" if r["announced"] else None
                con.execute("UPDATE problems SET state='resolved', resolved_at=?, resolved_run=?, pending=? WHERE id=?",
                            (run.finished_at, run_id, pending, r["id"]))
                out.resolved.append(Resolved(r["key"], r["finding"], r["severity"], r["first_seen"], r["last_seen"],
                                             run.finished_at, int(r["seen"]), int(r["id"])))
        return out


def pending_changes(con: sqlite3.Connection, target: str) -> list[Change]:
    acks = active_acks(con, target)
    out = []
    for r in con.execute(f"SELECT {_COLS}, resolved_at, evidence FROM problems WHERE target=? AND pending IS NOT NULL "
                         "ORDER BY id", (target,)).fetchall():
        d = _row(r[:-2])
        out.append(Change(int(d["id"]), d["pending"], d["key"], d["finding"], d["findings"], d["severity"],
                          int(d["count"]), d["title"], d["action"], d["primary_objects"], d["first_seen"],
                          d["last_seen"], int(d["seen"]), r[-2], d["last_transcript"], int(d["notified_count"] or 0),
                          json.loads(r[-1] or "[]"), acks.get(d["key"])))
    return out


def settle(con: sqlite3.Connection, changes: Iterable[Change], told: bool) -> None:
    """Changes are dealt with: told (announced, counts remembered) or dropped untold."""
    with con:
        for c in changes:
            if told and c.kind in ("new", "escalated"):
                con.execute("UPDATE problems SET pending=NULL, announced=1, notified_count=?, notified_severity=? "
                            "WHERE id=?", (c.count, c.severity, c.problem_id))
            else:
                con.execute("UPDATE problems SET pending=NULL WHERE id=?", (c.problem_id,))


def ack(con: sqlite3.Connection, target: str, key: str, until: str, who: str, why: str) -> dict[str, Any]:
    """Acknowledge an open problem by key (or a unique prefix of one). Raises KeyError/ValueError."""
    rows = open_problems(con, target)
    exact = [r for r in rows if r["key"] == key]
    found = exact or [r for r in rows if r["key"].startswith(key)]
    if not found:
        raise KeyError(key)
    if len({r["key"] for r in found}) > 1:
        raise ValueError(", ".join(sorted({r["key"] for r in found})))
    row = found[0]
    with con:
        con.execute("INSERT INTO acks (target, key, until, who, why, created_at) VALUES (?,?,?,?,?,?)",
                    (target, row["key"], until, who, why, _now_iso()))
        # an acknowledged problem is not announced: drop what was waiting to be told
        con.execute("UPDATE problems SET pending=NULL WHERE id=? AND pending IN ('new', 'escalated')", (row["id"],))
    return row


def sightings(con: sqlite3.Connection, problem_id: int) -> list[dict[str, Any]]:
    rows = con.execute("SELECT r.id, r.started_at, r.playbook, r.transcript, s.count FROM sightings s "
                       "JOIN alert_runs r ON r.id = s.run_id WHERE s.problem_id=? ORDER BY r.id", (problem_id,)).fetchall()
    return [{"run_id": i, "started_at": t, "playbook": p, "transcript": tr, "count": n} for i, t, p, tr, n in rows]
