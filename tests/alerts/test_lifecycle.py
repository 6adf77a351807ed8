"""The lifecycle over a real SQLite history file: new, ongoing, resolved; runs that must
not count; escalation; acknowledgement; migration of a file from before the alert tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runbooks.alerts import lifecycle
from runbooks.alerts.identity import observe
from runbooks.model import Finding, RunResult, StepResult
from runbooks.packs.eatfit24.monitor.history import SCHEMA_VERSION, History

from .test_identity import f


@pytest.fixture
def con(tmp_path: Path) -> Any:
    c = History(tmp_path / "h.sqlite3").connect()
    yield c
    c.close()


def run(n: int, verdict: str = "p0") -> lifecycle.RunInfo:
    return lifecycle.RunInfo("prod", "monitor.p0", f"2026-01-14T10:{n:02d}:00.000Z", f"2026-01-14T10:{n:02d}:05.000Z",
                             verdict, f"/t/{n}/transcript.md")


STUCK = [f("stuck_photos", [{"photo_id": 42, "meal_id": 7}]), f("stuck_meals", [{"meal_id": 7}])]
CLEAN = [f("stuck_photos", [], status="ok"), f("stuck_meals", [], status="ok")]
EVAL = {"stuck_photos", "stuck_meals"}


def test_new_then_ongoing_then_resolved_once(con: Any) -> None:
    o1 = lifecycle.update(con, run(1), observe(STUCK), EVAL, "full")
    assert o1.marks["stuck_photos"].state == "new" and o1.marks["stuck_meals"].key == "stuck_photos:photo=42"
    o2 = lifecycle.update(con, run(2), observe(STUCK), EVAL, "full")
    m = o2.marks["stuck_photos"]
    assert (m.state, m.seen, m.first_seen) == ("ongoing", 2, run(1).started_at)
    o3 = lifecycle.update(con, run(3), observe(CLEAN), EVAL, "full")
    assert [r.key for r in o3.resolved] == ["stuck_photos:photo=42"] and o3.resolved[0].resolved_at == run(3).finished_at
    o4 = lifecycle.update(con, run(4), observe(CLEAN), EVAL, "full")
    assert o4.resolved == []
    assert [s["run_id"] for s in lifecycle.sightings(con, o1.marks["stuck_photos"].problem_id)] == [o1.run_id, o2.run_id]


def test_incomplete_runs_neither_see_nor_resolve(con: Any) -> None:
    lifecycle.update(con, run(1), observe(STUCK), EVAL, "full")
    none = lifecycle.update(con, run(2, "unknown"), [], set(), "none", "verdict unknown")
    assert not none.updated and none.marks == {} and none.resolved == []
    partial = lifecycle.update(con, run(3, "failed"), [], EVAL, "partial")
    assert partial.resolved == []
    skipped = lifecycle.update(con, run(4, "ok"), [], {"cancel_not_applied"}, "full")  # stuck checks not evaluated
    assert skipped.resolved == []
    [p] = lifecycle.open_problems(con, "prod")
    assert p["seen"] == 1
    assert con.execute("SELECT COUNT(*), SUM(updated) FROM alert_runs").fetchone() == (4, 3)


def test_completeness_of_runs() -> None:
    def res(verdict: str, facts: dict[str, Any] | None = None, status: str = "ok") -> RunResult:
        return RunResult("monitor.p0", "prod", "s", "f", verdict, 0, [],  # type: ignore[arg-type]
                         facts=facts or {}, steps=[StepResult("gather", "monitor.gather", status, 0.1)])  # type: ignore[arg-type]

    for v in ("unknown", "error", "aborted"):
        assert lifecycle.completeness(res(v))[0] == "none"
    assert lifecycle.completeness(res("p0", {"gather": {"errors": {"db": "timed out"}}}))[0] == "partial"
    assert lifecycle.completeness(res("failed", status="failed"))[0] == "partial"
    assert lifecycle.completeness(res("p0", {"gather": {"errors": {}}})) == ("full", "")


def test_a_different_photo_is_a_new_problem_an_overlapping_set_continues(con: Any) -> None:
    lifecycle.update(con, run(1), observe(STUCK), EVAL, "full")
    grown = [f("stuck_photos", [{"photo_id": 42, "meal_id": 7}, {"photo_id": 43, "meal_id": 8}])]
    o = lifecycle.update(con, run(2), observe(grown), EVAL, "full")
    assert o.marks["stuck_photos"].state == "ongoing" and o.resolved == []
    other = [f("stuck_photos", [{"photo_id": 50, "meal_id": 9}])]
    o = lifecycle.update(con, run(3), observe(other), EVAL, "full")
    assert o.marks["stuck_photos"].state == "new" and o.marks["stuck_photos"].key == "stuck_photos:photo=50"
    assert [r.key for r in o.resolved] == ["stuck_photos:photo=42"]


def _told(con: Any) -> list[lifecycle.Change]:
    changes = lifecycle.pending_changes(con, "prod")
    lifecycle.settle(con, changes, told=True)
    return changes


def test_changes_to_tell_new_escalated_resolved_never_ongoing(con: Any) -> None:
    lifecycle.update(con, run(1), observe(STUCK), EVAL, "full")
    assert [c.kind for c in _told(con)] == ["new"]
    lifecycle.update(con, run(2), observe(STUCK), EVAL, "full")
    assert _told(con) == []  # ongoing
    bigger = [f("stuck_photos", [{"photo_id": 42, "meal_id": 7}], count=2)]  # x2: escalation
    lifecycle.update(con, run(3), observe(bigger), EVAL, "full")
    [c] = _told(con)
    assert (c.kind, c.told_count, c.count) == ("escalated", 1, 2)
    lifecycle.update(con, run(4), observe([f("stuck_photos", [{"photo_id": 42}], count=3)]), EVAL, "full")
    assert _told(con) == []  # 3 < 2 x 2
    worse = [f("stuck_photos", [{"photo_id": 42}], count=3, severity="P0"),
             f("cancelled_photo_with_results", [{"photo_id": 42}], severity="P0")]
    lifecycle.update(con, run(5), observe(worse), EVAL, "full")
    assert _told(con) == []  # same severity
    lifecycle.update(con, run(6), observe(CLEAN), EVAL, "full")
    assert [c.kind for c in _told(con)] == ["resolved"]


def test_untold_changes_wait_and_an_acknowledged_problem_stays_quiet(con: Any) -> None:
    lifecycle.update(con, run(1), observe(STUCK), EVAL, "full")
    lifecycle.update(con, run(2), observe(STUCK), EVAL, "full")
    [c] = lifecycle.pending_changes(con, "prod")  # nobody told yet (failed send, no --notify)
    assert c.kind == "new"
    lifecycle.ack(con, "prod", "stuck_photos:photo", "2099-01-01T00:00:00.000Z", "ana@laptop", "fix deploys at 14:00")
    assert lifecycle.pending_changes(con, "prod") == []
    o = lifecycle.update(con, run(3), observe([f("stuck_photos", [{"photo_id": 42}], count=9)]), EVAL, "full")
    assert o.marks["stuck_photos"].acked == {"until": "2099-01-01T00:00:00.000Z", "by": "ana@laptop",
                                             "why": "fix deploys at 14:00", "at": o.marks["stuck_photos"].acked["at"]}
    lifecycle.update(con, run(4), observe(CLEAN), EVAL, "full")
    assert lifecycle.pending_changes(con, "prod") == []  # never announced: no "resolved" either
    with pytest.raises(KeyError):
        lifecycle.ack(con, "prod", "stuck_photos:photo=42", "2099-01-01T00:00:00.000Z", "x", "y")


def test_history_file_from_before_the_alert_tables_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, window TEXT "
                      "NOT NULL, playbook TEXT NOT NULL, started_at TEXT NOT NULL, metrics TEXT NOT NULL);"
                      "CREATE INDEX runs_target_window ON runs (target, window, id);")
    old.execute("INSERT INTO runs (target, window, playbook, started_at, metrics) VALUES "
                "('prod', 'w', 'monitor.p0', '2026-01-14T10:00:00Z', '{\"stuck_photos\": 1}')")
    old.commit()
    old.close()
    h = History(path)
    assert h.earlier("prod", "w") == [{"stuck_photos": 1}]
    con = h.connect()
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        lifecycle.update(con, run(1), observe(STUCK), EVAL, "full")
        assert len(lifecycle.open_problems(con, "prod")) == 1
    finally:
        con.close()
    assert History(path).earlier("prod", "w") == [{"stuck_photos": 1}]  # idempotent, rows kept


def test_finding_alert_field_only_when_set() -> None:
    plain = Finding(id="x", severity="P0", title="t")
    assert "alert" not in plain.to_dict()
    plain.alert = {"key": "x", "state": "new"}
    assert plain.to_dict()["alert"] == {"key": "x", "state": "new"}


def test_severity_up_is_an_escalation(con: Any) -> None:
    lifecycle.update(con, run(1), observe([f("stuck_photos", [{"photo_id": 42}], severity="P1")]), EVAL, "full")
    assert [c.kind for c in _told(con)] == ["new"]
    lifecycle.update(con, run(2), observe([f("stuck_photos", [{"photo_id": 42}], severity="P0")]), EVAL, "full")
    [c] = _told(con)
    assert (c.kind, c.severity) == ("escalated", "P0")


def test_a_partly_seen_source_cannot_clear_its_findings() -> None:
    findings = [Finding(id="finalization_exception", severity="P0", title="t", status="ok"),
                Finding(id="stuck_photos", severity="P0", title="t", status="ok"),
                Finding(id="api_failed_meal", severity="P0", title="t", status="not_configured")]
    r = RunResult("monitor.p0", "prod", "s", "f", "ok", 0, findings,
                  coverage={"worker_logs": {"status": "partial", "reason": "container recreated"},
                            "db": {"status": "complete"}})
    assert lifecycle.resolvable(r) == {"stuck_photos"}
    r.coverage = {"worker_logs": {"status": "complete"}, "backend_logs": {"status": "complete"}}
    assert lifecycle.resolvable(r) == {"stuck_photos", "finalization_exception"}
