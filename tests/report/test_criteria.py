"""How each criterion is decided, and the exit code (pure functions, no I/O)."""

from __future__ import annotations

from runbooks.report.criteria import (
    CRITERIA,
    FAIL,
    MANUAL,
    PASS,
    UNKNOWN,
    EarlierAlert,
    FreshRun,
    HistoryRow,
    evaluate,
    exit_code,
)

IDS = sorted({f for c in CRITERIA for f in c.findings})


def _fresh(**status: str) -> FreshRun:
    sev = {"race_guard_spike": "P1"}
    return FreshRun({i: {"id": i, "severity": sev.get(i, "P0"), "status": status.get(i, "ok"), "count": 0,
                         "title": i, "reason": "why" if status.get(i) else "", "evidence": []} for i in IDS},
                    "run/transcript.md", "ok")


def _by_id(outcomes: list) -> dict:
    return {o.criterion.id: o for o in outcomes}


def test_all_clean_passes_and_manual_items_stay_manual() -> None:
    out = _by_id(evaluate(_fresh(), [], []))
    assert {k: o.status for k, o in out.items() if o.status != MANUAL} == {
        "no_stuck": PASS, "race_guard_working": PASS, "serializer_working": PASS, "race_guard_stable": PASS,
        "finalization_clean": PASS, "cancelled_meals_hidden": PASS}
    assert out["frontend_photos"].status == out["no_complaints"].status == MANUAL
    assert exit_code(list(out.values()), "ok") == 0


def test_p0_alert_fails_with_exit_2_and_p1_alert_with_exit_1() -> None:
    out = evaluate(_fresh(stuck_meals="alert"), [], [])
    assert _by_id(out)["no_stuck"].status == FAIL and _by_id(out)["no_stuck"].severity == "P0"
    assert exit_code(out, "p0") == 2
    out = evaluate(_fresh(race_guard_spike="alert"), [], [])
    assert _by_id(out)["race_guard_stable"].status == FAIL and exit_code(out, "warn") == 1


def test_not_evaluated_is_unknown_never_pass() -> None:
    out = _by_id(evaluate(_fresh(race_guard_spike="no_baseline", api_failed_meal="skipped"), [], []))
    assert out["race_guard_stable"].status == UNKNOWN and out["cancelled_meals_hidden"].status == UNKNOWN
    assert exit_code(list(out.values()), "ok") == 1
    missing = FreshRun({}, None, "error", "cannot connect")
    out2 = evaluate(missing, [], [])
    assert all(o.status in (UNKNOWN, MANUAL) for o in out2) and exit_code(out2, "error") == 3


def test_an_alert_earlier_in_the_window_fails_the_period() -> None:
    earlier = [EarlierAlert({"id": "finalization_exception", "severity": "P0", "count": 1}, "2026-01-15T03:00:00Z",
                            "../x/transcript.md", "x")]
    o = _by_id(evaluate(_fresh(), earlier, []))["finalization_clean"]
    assert o.status == FAIL and "../x/transcript.md" in o.links
    hist = [HistoryRow("2026-01-15T04:00:00+00:00", "monitor.stuck", {"stuck_photos": 3})]
    o = _by_id(evaluate(_fresh(), [], hist))["no_stuck"]
    assert o.status == FAIL and "stuck_photos=3" in o.evidence[-1].text
