"""Problem identity from findings (pure)."""

from __future__ import annotations

from typing import Any

from runbooks.alerts.identity import make_key, normalise_log, observe
from runbooks.model import Finding


def f(fid: str, evidence: list[dict[str, Any]], severity: str = "P0", count: int | None = None,
      status: str = "alert") -> Finding:
    return Finding(id=fid, severity=severity, title=fid, count=len(evidence) if count is None else count,  # type: ignore[arg-type]
                   evidence=evidence, status=status)  # type: ignore[arg-type]


def test_stuck_photo_and_its_meal_are_one_problem_named_after_the_photo() -> None:
    obs = observe([f("stuck_meals", [{"meal_id": 7}]), f("stuck_photos", [{"photo_id": 42, "meal_id": 7}])])
    assert len(obs) == 1
    assert obs[0].key == "stuck_photos:photo=42" and obs[0].findings == ("stuck_photos", "stuck_meals")
    assert obs[0].objects == {"photo=42", "meal=7"}


def test_unrelated_findings_stay_separate_and_ok_findings_are_ignored() -> None:
    obs = observe([f("stuck_photos", [{"photo_id": 1, "meal_id": 1}]), f("stuck_meals", [{"meal_id": 2}]),
                   f("cancel_not_applied", [], status="ok")])
    assert sorted(o.key for o in obs) == ["stuck_meals:meal=2", "stuck_photos:photo=1"]


def test_cancel_event_links_the_photos_it_left_active() -> None:
    obs = observe([f("cancel_not_applied", [{"cancel_event_id": 5, "meal_id": 3,
                                            "still_active": [{"photo_id": 9, "status": "PENDING"}]}]),
                   f("stuck_photos", [{"photo_id": 9, "meal_id": 4}])])
    assert [o.key for o in obs] == ["cancel_not_applied:cancel_event=5"]


def test_keys_sort_ids_numerically_and_summarise_many() -> None:
    obs = observe([f("stuck_photos", [{"photo_id": i, "meal_id": i} for i in (10, 9, 100, 2, 3)])])
    assert obs[0].key.startswith("stuck_photos:photo=2,photo=3,photo=9+2#")
    assert obs[0].key == make_key("stuck_photos", ["photo=2", "photo=3", "photo=9", "photo=10", "photo=100"])
    assert obs[0].key != make_key("stuck_photos", ["photo=2", "photo=3", "photo=9", "photo=10", "photo=101"])


def test_log_blocks_keyed_by_normalised_first_line() -> None:
    line = "2026-01-14T10:00:01.123Z [ERROR] Exception finalizing meal_id=41 task 0f3a9c2d-11aa-4bbb"
    later = "2026-01-15T11:30:59.000Z [ERROR] Exception finalizing meal_id=97 task 7e1b0c4f-22cc-4ddd"
    assert normalise_log(line) == normalise_log(later)
    a = observe([f("finalization_exception", [{"container": "w", "ts": "t1", "lines": [{"line": line}]}])])
    b = observe([f("finalization_exception", [{"container": "w", "ts": "t2", "lines": [{"line": later}]}])])
    other = observe([f("finalization_exception", [{"lines": [{"line": "KeyError: 'items'"}]}])])
    assert a[0].key == b[0].key != other[0].key and a[0].key.startswith("finalization_exception:log=")


def test_rate_findings_are_the_finding_alone() -> None:
    obs = observe([f("failed_ratio_high", [{"meal_id": 1, "as": "FAILED"}], severity="P1")])
    assert obs[0].key == "failed_ratio_high" and obs[0].objects == frozenset()
