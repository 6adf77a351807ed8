from __future__ import annotations

from typing import Any

import pytest

from runbooks.errors import ConfigError
from runbooks.packs.eatfit24.monitor.anomaly import Baseline
from runbooks.packs.eatfit24.monitor.catalog import CATALOG
from runbooks.packs.eatfit24.monitor.rules import evaluate
from runbooks.packs.eatfit24.monitor.sections import NEEDS
from runbooks.packs.eatfit24.monitor.thresholds import settings_from

from .facts import api_facts, backend_facts, db_facts, filtered, worker_facts
from .logs import BACKEND_LINES, CELERY, ts

S = settings_from([], set(CATALOG))
ALL = list(NEEDS)


def by_id(findings: list[Any]) -> dict[str, Any]:
    return {f.id: f for f in findings}


def healthy() -> dict[str, Any]:
    ok_worker = [f"{ts(i)} {CELERY}[MealService] Finalized meal_id={i} as COMPLETE" for i in range(30)]
    return {"worker_logs": worker_facts(ok_worker), "backend_logs": backend_facts(BACKEND_LINES[:7]),
            "db": db_facts(), "api": api_facts(), "errors": {}}


def test_healthy_every_check_has_a_finding_and_none_alerts() -> None:
    findings, metrics = evaluate(healthy(), ALL, S, {})
    f = by_id(findings)
    assert set(f) == set(ALL)
    assert {x.status for x in findings if x.id not in ("race_guard_spike", "cancel_noop_spike",
            "cancelled_growth_stable_dau", "failed_growth_without_cancel", "slow_processing_cancel_rise")} == {"ok"}
    assert f["race_guard_spike"].status == "no_baseline" and "no baseline yet" in f["race_guard_spike"].reason
    assert metrics["finalized_complete"] == 30 and metrics["failed_ratio"] == 0.0


def test_quiet_day_no_crash_ratios_none() -> None:
    facts = {"worker_logs": worker_facts([]), "backend_logs": backend_facts([]),
             "db": db_facts(counts={"photos_by_status": {}, "meals_by_status": {}, "dau": 0, "meals_processing_total": 0},
                            cancel_events={"total": 0, "noop": 0, "with_action": 0, "avg_updated_photos": None,
                                           "zero_updated_with_ids": 0, "not_applied_count": 0, "not_applied": []}),
             "api": api_facts(meals=0, photos=0), "errors": {}}
    findings, m = evaluate(facts, ALL, S, {})
    for key in ("failed_ratio", "race_guard_rate", "cancel_duplicate_ratio", "cancel_events_noop_ratio",
                "cancel_events_avg_updated_photos", "cancel_rate"):
        assert m[key] is None, key
    assert m["cancel_events_total"] == 0
    assert not [f for f in findings if f.status == "alert"]
    assert "n/a" in by_id(findings)["failed_ratio_high"].reason


def test_cancelled_photo_with_results_counts_photos_and_meals() -> None:
    facts = healthy()
    facts["db"] = db_facts(
        leaked_photos={"CANCELLED": {"count": 2, "sample": [{"photo_id": 5, "meal_id": 1, "status": "CANCELLED", "items": 2},
                                                             {"photo_id": 6, "meal_id": 1, "status": "CANCELLED", "items": 1}]},
                       "FAILED": {"count": 1, "sample": [{"photo_id": 9, "meal_id": 2, "status": "FAILED", "items": 1}]}},
        meals_items_without_success={
            "count": 2, "sample": [],
            "with_cancelled": {"count": 1, "sample": [{"meal_id": 3, "food_items": 2, "photo_statuses": ["CANCELLED"]}]},
            "failed_only": {"count": 1, "sample": [{"meal_id": 4, "food_items": 1, "photo_statuses": ["FAILED"]}]}},
    )
    f = by_id(evaluate(facts, ALL, S, {})[0])
    c = f["cancelled_photo_with_results"]
    assert (c.status, c.severity, c.count) == ("alert", "P0", 3)
    assert [e.get("photo_id") for e in c.evidence] == [5, 6, None] and c.evidence[2]["meal_id"] == 3
    assert "rollback" in c.action
    fp = f["failed_photo_with_results"]
    assert (fp.status, fp.severity, fp.count, fp.evidence[0]["photo_id"]) == ("alert", "P1", 2, 9)
    assert fp.evidence[1]["meal_id"] == 4


def test_api_leaks_from_api_and_serializer() -> None:
    facts = healthy()
    facts["api"] = api_facts(non_success_photos=[{"meal_id": 1, "photo_id": 11, "status": "CANCELLED", "source": "api"}],
                             failed_meals=[{"meal_id": 2, "status": "FAILED", "source": "api"}])
    facts["db"]["serializer"]["non_success_photos"] = [{"meal_id": 4, "photo_id": 12, "status": "PENDING",
                                                       "source": "serializer"}]
    facts["db"]["serializer"]["non_success_count"] = 1
    f = by_id(evaluate(facts, ALL, S, {})[0])
    assert (f["api_non_success_photo"].count, f["api_non_success_photo"].status) == (2, "alert")
    assert {e["photo_id"] for e in f["api_non_success_photo"].evidence} == {11, 12}
    assert (f["api_failed_meal"].count, f["api_failed_meal"].evidence[0]["meal_id"]) == (1, 2)


def test_api_without_credentials_is_skipped_never_passed() -> None:
    facts = healthy()
    facts["api"] = {"evaluated": False, "reason": "API credentials not set in the environment: EATFIT24_INIT_DATA"}
    f = by_id(evaluate(facts, ALL, S, {})[0])
    assert f["api_failed_meal"].status == "skipped" and "EATFIT24_INIT_DATA" in f["api_failed_meal"].reason
    # the server-side serializer check still ran for every user; the reason says the API part did not
    assert f["api_non_success_photo"].status == "ok" and "API not checked" in f["api_non_success_photo"].reason


def test_cancel_not_applied_and_literal_count() -> None:
    facts = healthy()
    facts["db"]["cancel_events"].update(zero_updated_with_ids=3, not_applied_count=1, not_applied=[
        {"cancel_event_id": 4, "client_cancel_id": "u", "meal_photo_ids": [7, 8],
         "still_active": [{"photo_id": 8, "status": "PROCESSING"}]}])
    findings, m = evaluate(facts, ALL, S, {})
    f = by_id(findings)["cancel_not_applied"]
    assert (f.status, f.count, f.evidence[0]["cancel_event_id"]) == ("alert", 1, 4)
    assert "literal count" in f.reason and "3" in f.reason
    assert m["cancel_events_zero_updated_with_ids"] == 3 and m["cancel_not_applied"] == 1


def test_stuck_photos_and_meals() -> None:
    facts = healthy()
    facts["db"]["stuck_photos"] = {"count": 2, "processing_only_count": 1, "sample": [{"photo_id": 1}, {"photo_id": 2}]}
    facts["db"]["stuck_meals"] = {"count": 1, "sample": [{"meal_id": 9, "reason": "all_photos_terminal"}]}
    f = by_id(evaluate(facts, ALL, settings_from([({"thresholds": {"stuck_seconds": 120}}, "t")], set(CATALOG)), {})[0])
    assert (f["stuck_photos"].count, f["stuck_photos"].severity) == (2, "P0")
    assert "120s" in f["stuck_photos"].threshold
    assert f["stuck_meals"].evidence == [{"meal_id": 9, "reason": "all_photos_terminal"}]
    assert "celery worker" in f["stuck_meals"].action


def test_failed_ratio_and_override() -> None:
    lines = [f"{ts(i)} {CELERY}[MealService] Finalized meal_id={i} as COMPLETE" for i in range(9)]
    lines.append(f"{ts(9)} {CELERY}[MealService] Finalized meal_id=99 as FAILED (all photos failed/cancelled)")
    facts = healthy()
    facts["worker_logs"] = worker_facts(lines)
    findings, m = evaluate(facts, ["failed_ratio_high"], S, {})
    assert m["failed_ratio"] == 0.1
    f = findings[0]
    assert (f.status, f.severity, f.count, f.evidence[0]["meal_id"]) == ("alert", "P1", 1, 99)
    relaxed = settings_from([({"thresholds": {"failed_ratio": 0.2}}, "t")], set(CATALOG))
    assert evaluate(facts, ["failed_ratio_high"], relaxed, {})[0][0].status == "ok"


def test_duplicate_rate() -> None:
    facts = healthy()
    facts["backend_logs"] = backend_facts(BACKEND_LINES[:9])  # 3 RECEIVED, 1 DUPLICATE
    findings, m = evaluate(facts, ["cancel_duplicate_rate_high"], S, {})
    assert m["cancel_duplicate_ratio"] == round(1 / 3, 6)
    f = findings[0]
    assert (f.status, f.count, f.evidence[0]["client_cancel_id"]) == ("alert", 1, "11111111-1111-1111-1111-111111111111")


def test_finalization_and_cancel_exceptions() -> None:
    out = ("1 C [2026] noise\n2 E [ERROR/ForkPoolWorker-1] Task raised: ValueError()\n"
           '3 E Traceback (most recent call last):\n4 C File "services.py", line 3, in finalize_meal\n'
           "10 M [AI][Cancel] EXCEPTION client_cancel_id=x\n0 S RUNBOOKS_EXIT 0\n")
    from runbooks.packs.eatfit24.monitor.parse import summarize_log
    facts = healthy()
    facts["worker_logs"] = summarize_log(out, "w")
    facts["backend_logs"] = summarize_log(out, "b")
    f = by_id(evaluate(facts, ALL, S, {})[0])
    assert (f["finalization_exception"].status, f["finalization_exception"].count) == ("alert", 2)  # one block per log
    assert f["finalization_exception"].evidence[0]["lines"][1]["line"].startswith("[ERROR/")
    assert f["cancel_exception"].count == 2  # the standalone EXCEPTION marker in each log


def test_missing_and_failed_parts_are_skipped_with_reason() -> None:
    facts = {"db": db_facts(), "errors": {"worker_logs": "docker logs w exited 1: boom"}}
    f = by_id(evaluate(facts, ALL, S, {})[0])
    assert f["finalization_exception"].status == "skipped" and "boom" in f["finalization_exception"].reason
    assert f["stuck_photos"].status == "ok"
    facts = {"db": db_facts(skipped={"cancel_events": "ImportError: no CancelEvent"}), "errors": {}}
    del facts["db"]["cancel_events"]
    f = by_id(evaluate(facts, ["cancel_not_applied"], S, {})[0])
    assert f["cancel_not_applied"].status == "skipped" and "CancelEvent" in f["cancel_not_applied"].reason


def b(n: int, median: float) -> Baseline:
    return Baseline(n, median)


def test_race_guard_spike_fires_at_x2_and_not_below() -> None:
    # 10 race guard triggers + 10 SUCCESS => rate 0.5
    lines = [f"{ts(i)} {CELERY}[AI] Photo {i} is in terminal state CANCELLED, discarding results (race condition guard)"
             for i in range(10)]
    lines += [f"{ts(i)} {CELERY}[AI] MealPhoto {100 + i} updated to SUCCESS with 2 items" for i in range(10)]
    facts = {"worker_logs": worker_facts(lines), "errors": {}}
    f = evaluate(facts, ["race_guard_spike"], S, {"race_guard_rate": b(3, 0.25)})[0][0]
    assert (f.status, f.count, f.severity) == ("alert", 10, "P1")
    assert f.evidence[0] == {"metric": "race_guard_rate", "current": 0.5, "baseline_median": 0.25, "baseline_runs": 3}
    assert f.evidence[1]["photo_id"] == 0
    assert evaluate(facts, ["race_guard_spike"], S, {"race_guard_rate": b(3, 0.3)})[0][0].status == "ok"
    nb = evaluate(facts, ["race_guard_spike"], S, {"race_guard_rate": b(2, 0.01)})[0][0]
    assert (nb.status, nb.reason) == ("no_baseline", "no baseline yet (2 of 3 earlier runs)")


def test_noop_spike_is_p2() -> None:
    facts = {"db": db_facts(cancel_events={"total": 10, "noop": 8, "with_action": 2, "avg_updated_photos": 1.0,
                                           "zero_updated_with_ids": 0, "not_applied_count": 0, "not_applied": []}),
             "errors": {}}
    f = evaluate(facts, ["cancel_noop_spike"], S, {"cancel_events_noop_ratio": b(5, 0.3)})[0][0]
    assert (f.status, f.severity, f.count) == ("alert", "P2", 8)


def test_growth_rules() -> None:
    db = db_facts(counts={"photos_by_status": {"SUCCESS": 50, "CANCELLED": 20, "FAILED": 2}, "meals_by_status": {},
                          "dau": 10, "meals_processing_total": 0})
    facts = {"db": db, "errors": {}}
    bases = {"photos_cancelled": b(3, 8), "dau": b(3, 10), "photos_failed": b(3, 2)}
    f = by_id(evaluate(facts, ["cancelled_growth_stable_dau", "failed_growth_without_cancel"], S, bases)[0])
    assert (f["cancelled_growth_stable_dau"].status, f["cancelled_growth_stable_dau"].count) == ("alert", 20)
    assert f["failed_growth_without_cancel"].status == "ok"
    # DAU doubled: cancel growth is explained by more users
    f = by_id(evaluate(facts, ["cancelled_growth_stable_dau"], S, {**bases, "dau": b(3, 5)})[0])
    assert f["cancelled_growth_stable_dau"].status == "ok"
    db2 = db_facts(counts={"photos_by_status": {"SUCCESS": 50, "CANCELLED": 8, "FAILED": 12}, "meals_by_status": {},
                           "dau": 10, "meals_processing_total": 0})
    f = by_id(evaluate({"db": db2, "errors": {}}, ["failed_growth_without_cancel"], S, bases)[0])
    assert (f["failed_growth_without_cancel"].status, f["failed_growth_without_cancel"].count) == ("alert", 12)


def test_slow_processing_with_cancel_rise() -> None:
    lines = [f"2026-01-15T10:01:{i:02d}.000000000Z {CELERY}[AI] MealPhoto {i} updated to SUCCESS with 1 items" for i in range(5)]
    worker = worker_facts(lines)
    db = db_facts(counts={"photos_by_status": {"SUCCESS": 10, "CANCELLED": 10}, "meals_by_status": {}, "dau": 5,
                          "meals_processing_total": 0},
                  processing={"count": 5, "median_s": 62.0})
    facts = {"worker_logs": worker, "db": db, "errors": {}}
    findings, m = evaluate(facts, ["slow_processing_cancel_rise"], S,
                           {"processing_time_median_s": b(4, 20.0), "cancel_rate": b(4, 0.1)})
    assert m["processing_time_median_s"] == 62.0 and m["cancel_rate"] == 0.5
    assert (findings[0].status, findings[0].count) == ("alert", 10)


def test_overrides_severity_disabled_and_bad_keys() -> None:
    s = settings_from([({"severity": {"failed_ratio_high": "P2"}, "disabled": ["race_guard_spike"]}, "t")], set(CATALOG))
    f = by_id(evaluate(healthy(), ALL, s, {})[0])
    assert f["failed_ratio_high"].severity == "P2" and f["race_guard_spike"].status == "skipped"
    with pytest.raises(ConfigError, match="thresholds.stuck_secs"):
        settings_from([({"thresholds": {"stuck_secs": 1}}, "targets.prod.monitor")], set(CATALOG))
    with pytest.raises(ConfigError, match="severity.stuck_photos"):
        settings_from([({"severity": {"stuck_photos": "P9"}}, "t")], set(CATALOG))


def test_filtered_helper_matches_real_format() -> None:
    assert filtered(["a"]).endswith("0 S RUNBOOKS_EXIT 0\n")
