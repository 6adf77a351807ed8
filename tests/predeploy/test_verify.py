"""Pure logic of predeploy: the host clock, tagged-output parsing, meal identification and
each scenario's verification (what differed, with which evidence)."""

from __future__ import annotations

from typing import Any

import pytest

from runbooks.packs.eatfit24.predeploy.clock import parse_host_time
from runbooks.packs.eatfit24.predeploy.pick import choose, pick_meal, settled
from runbooks.packs.eatfit24.predeploy.poll import Backoff
from runbooks.packs.eatfit24.predeploy.remote import RemoteError, UserRef, logs_command, parse_logs, parse_meals, render_script
from runbooks.packs.eatfit24.predeploy.scenarios import parse_selection
from runbooks.packs.eatfit24.predeploy.verify import Diary, parse_diary, verify_a, verify_b, verify_c

T = "2026-01-15T10:00:05.123456789Z "
W = "[2026-01-15 13:00:05,123: INFO/ForkPoolWorker-1] "


def meal(mid: int, status: str, photos: list[tuple[int, str, int]], food_items: int = 0) -> dict[str, Any]:
    return {"id": mid, "status": status, "date": "2026-01-15", "meal_type": "LUNCH", "created_at": "x",
            "food_items": food_items, "photos": [{"id": i, "status": s, "items": n} for i, s, n in photos]}


def logs(*lines: str) -> Any:
    """What the host filter passes for these worker lines (the real filter: tests/blocks)."""
    return parse_logs("\n".join([f"{i} M1 {T}{W}{ln}" for i, ln in enumerate(lines, 1)] + ["0 S RUNBOOKS_EXIT 0"]), "w")


def diary(*meals: dict[str, Any]) -> Diary:
    return parse_diary(200, {"date": "2026-01-15", "meals": list(meals)})


def test_host_clock_keeps_nanoseconds_for_docker_and_micro_for_django() -> None:
    t = parse_host_time("2026-01-15T10:00:00.123456789Z\n")
    assert t.docker == "2026-01-15T10:00:00.123456789Z"
    assert t.iso == "2026-01-15T10:00:00.123456+00:00"
    assert parse_host_time("2026-01-15T10:00:00.%NZ").docker == "2026-01-15T10:00:00.000000Z"  # busybox date
    with pytest.raises(ValueError):
        parse_host_time("date: invalid option")


def test_meals_result_is_read_from_the_tagged_line_only() -> None:
    banner = "27 objects imported automatically (use -v 2 for details).\n\n"
    doc = parse_meals(banner + 'RUNBOOKS_PREDEPLOY {"version": 1, "user_exists": true, "meals": []}\n')
    assert doc["meals"] == []
    with pytest.raises(RemoteError, match="no RUNBOOKS_PREDEPLOY"):
        parse_meals(banner, "Traceback ...\nImportError: boom")
    with pytest.raises(RemoteError, match="FieldError"):
        parse_meals('RUNBOOKS_PREDEPLOY {"error": "FieldError: x"}')


def test_script_params_are_json_never_spliced_into_python() -> None:
    evil = "x'); import os; os.system('id'); ('"
    script = render_script(UserRef(username=evil), "2026-01-15T10:00:00+00:00")
    compile(script, "predeploy", "exec")  # still valid Python
    line = next(ln for ln in script.splitlines() if ln.startswith("PARAMS = json.loads("))
    import ast
    import json

    assert json.loads(ast.literal_eval(line[len("PARAMS = json.loads("):-1]))["username"] == evil


def test_log_scan_quotes_the_since_value_and_reports_docker_failures() -> None:
    c = logs_command("eatfit24-celery-worker-1", "2026-01-15T10:00:00Z; rm -rf /")
    assert "'2026-01-15T10:00:00Z; rm -rf /'" in c.render()
    with pytest.raises(RemoteError, match="exited 1.*No such container: x"):
        parse_logs("0 S RUNBOOKS_EXIT 1\n0 S RUNBOOKS_ERROR Error: No such container: x\n0 S RUNBOOKS_LINES 1", "x")
    with pytest.raises(RemoteError, match="no exit status"):
        parse_logs("", "x")


def test_meal_under_test_is_never_guessed() -> None:
    a, b = meal(1, "COMPLETE", []), meal(2, "PROCESSING", [(5, "PENDING", 0)])
    assert pick_meal([a]).meal is a
    assert pick_meal([]).problem == "none"
    assert pick_meal([b, a]).problem == "several" and pick_meal([b, a]).meal is None
    assert choose([b, a], "#1") is a and choose([b, a], "7") is None
    assert settled(a) and not settled(b)


def test_scenario_selection() -> None:
    assert parse_selection(None) == ["A", "B", "C"]
    assert parse_selection("c,a,C") == ["C", "A"]
    with pytest.raises(ValueError, match="--scenario"):
        parse_selection("D")


def test_backoff_stops_at_the_deadline_with_few_attempts() -> None:
    now = [0.0]
    b = Backoff(10, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    n = 0
    while b.wait():
        n += 1
    assert now[0] == pytest.approx(10) and n <= 6


def test_a_passes_on_a_healthy_meal() -> None:
    m = meal(7, "COMPLETE", [(1, "SUCCESS", 3), (2, "CANCELLED", 0), (3, "CANCELLED", 0)], food_items=3)
    d = diary({"id": 7, "photos": [{"id": 1}], "items": [{}, {}, {}]})
    out = verify_a(m, logs("[MealService] Finalized meal_id=7 as COMPLETE"), d)
    assert out.passed, out.differences
    assert any("Finalized meal_id=7" in e.get("log", "") for e in out.evidence())


def test_a_fails_naming_the_photo_the_diary_leaks() -> None:
    m = meal(7, "COMPLETE", [(1, "SUCCESS", 3), (2, "CANCELLED", 0)], food_items=3)
    d = diary({"id": 7, "photos": [{"id": 1}, {"id": 2}], "items": [{}, {}, {}]})
    out = verify_a(m, logs("[MealService] Finalized meal_id=7 as COMPLETE"), d)
    assert not out.passed
    assert out.differences == ["diary shows the meal with exactly its SUCCESS photo(s): diary shows non-SUCCESS photo(s) 2 (CANCELLED)"]
    assert {"check": "diary shows the meal with exactly its SUCCESS photo(s)", "photo_id": 2, "status": "CANCELLED",
            "leaked_in": "diary", "meal_id": 7} in out.evidence()


def test_a_fails_when_cancel_was_not_exercised_or_the_log_line_is_missing() -> None:
    m = meal(7, "COMPLETE", [(1, "SUCCESS", 2), (2, "SUCCESS", 2)], food_items=4)
    out = verify_a(m, logs("[MealService] Finalized meal_id=8 as COMPLETE"), diary({"id": 7, "photos": [{"id": 1}, {"id": 2}], "items": [1, 2, 3, 4]}))
    text = " ".join(out.differences)
    assert "Cancel was not exercised" in text and "log: Finalized meal_id=7 as COMPLETE" in text


def test_b_fails_when_the_failed_meal_shows_in_the_diary() -> None:
    m = meal(9, "FAILED", [(4, "CANCELLED", 0), (5, "CANCELLED", 0)])
    ok = verify_b(m, logs("[MealService] Finalized meal_id=9 as FAILED (all photos failed/cancelled)"), diary())
    assert ok.passed, ok.differences
    bad = verify_b(m, logs("[MealService] Finalized meal_id=9 as FAILED (all photos failed/cancelled)"), diary({"id": 9, "photos": []}))
    assert bad.differences == ["meal absent from the diary: meal 9 (FAILED) is in the diary of 2026-01-15"]


def test_c_fails_without_the_race_guard_and_names_the_leaked_results() -> None:
    m = meal(3, "FAILED", [(6, "CANCELLED", 4)], food_items=4)
    out = verify_c(m, logs("[AI] MealPhoto 6 updated to SUCCESS with 4 items"), diary())
    text = " ".join(out.differences)
    assert "race guard for photo 6" in text and "photo 6 (CANCELLED) has 4 item(s) in recognized_data" in text
    assert any(e.get("recognized_items") == 4 and e["photo_id"] == 6 for e in out.evidence())
    good = meal(3, "FAILED", [(6, "CANCELLED", 0)])
    line = "[AI] Photo 6 is in terminal state CANCELLED, discarding results (race condition guard)"
    assert verify_c(good, logs(line), diary()).passed


def test_unreadable_diary_is_a_failure_never_a_pass() -> None:
    m = meal(9, "FAILED", [(4, "CANCELLED", 0)])
    out = verify_b(m, logs("[MealService] Finalized meal_id=9 as FAILED"), parse_diary(403, {"detail": "no"}))
    assert not out.passed and "diary returned HTTP 403" in out.differences[-1]


CLOSING = {"A": ["no results stored on CANCELLED photos", "meal's FoodItems come only from SUCCESS photos"],
           "B": ["no results stored on the meal's photos", "meal's FoodItems come only from SUCCESS photos"],
           "C": ["no results stored on CANCELLED photos", "meal's FoodItems come only from SUCCESS photos"]}


@pytest.mark.parametrize("key", ["A", "B", "C"])
def test_every_scenario_closes_with_the_same_checks_and_stops_at_an_unreadable_diary(key: str) -> None:
    """The closing checks (no results on the photos that must have none, FoodItems only
    from SUCCESS photos, the diary readable) come last, in this order, and an unreadable
    diary ends the scenario there: no diary check is made on a diary nobody read."""
    cases = {"A": (verify_a, meal(1, "COMPLETE", [(1, "SUCCESS", 2), (2, "CANCELLED", 0)], food_items=2),
                   logs("[MealService] Finalized meal_id=1 as COMPLETE"), "diary shows the meal"),
             "B": (verify_b, meal(2, "FAILED", [(3, "CANCELLED", 0)]),
                   logs("[MealService] Finalized meal_id=2 as FAILED"), "meal absent from the diary"),
             "C": (verify_c, meal(3, "FAILED", [(6, "CANCELLED", 0)]),
                   logs("[AI] Photo 6 is in terminal state CANCELLED, discarding results (race condition guard)"),
                   "cancelled photo absent from the diary")}
    verify, m, scan, diary_check = cases[key]
    unread = verify(m, scan, parse_diary(403, {"detail": "no"}))
    assert [c.what for c in unread.checks][-3:] == [*CLOSING[key], "diary readable"]
    assert [c.ok for c in unread.checks][-3:] == [True, True, False] and not unread.passed
    read = verify(m, scan, diary())
    assert [c.what for c in read.checks][-3:] == [*CLOSING[key], diary_check]
