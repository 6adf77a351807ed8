"""Each fault produces exactly its evidence, as ground truth sees it."""

from __future__ import annotations

import pytest

from runbooks.sandbox import Sandbox, fault_descriptions
from tests.sandbox.helpers import docker


def test_registry_lists_every_fault_once() -> None:
    names = list(fault_descriptions())
    assert len(names) == len(set(names)) >= 15
    assert all(fault_descriptions().values())


def test_cancelled_photo_with_results(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("cancelled_photo_with_results")
    db = sandbox_state.ground_truth()["db"]
    assert db["cancelled_photos_with_results"] == [ev["photo_id"]] and ev["food_item_ids"]


def test_failed_photo_with_results(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("failed_photo_with_results")
    assert sandbox_state.ground_truth()["db"]["failed_photos_with_results"] == [ev["photo_id"]]


def test_stuck_photo_and_stuck_meal(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("stuck_photo")
    ev2 = sandbox_state.inject("stuck_meal")
    db = sandbox_state.ground_truth()["db"]
    assert db["stuck_photo_ids"] == [ev["photo_id"]]
    assert db["stuck_meal_ids"] == sorted([ev["meal_id"], ev2["meal_id"]])


def test_cancel_not_applied(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("cancel_not_applied")
    db = sandbox_state.ground_truth()["db"]
    assert db["cancel_not_applied_event_ids"] == [ev["cancel_event_id"]]
    assert db["photos"]["PROCESSING"] == 2 and db["stuck_photo_ids"] == []


def test_finalization_exception(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("finalization_exception")
    r = docker(sandbox_state, "logs", "eatfit24-celery-worker-1")
    assert "Traceback (most recent call last):" in r.stderr and "Traceback" not in r.stdout
    assert f"[MealService] Finalization failed for meal_id={ev['meal_id']}" in r.stderr
    assert sandbox_state.ground_truth()["db"]["stuck_meal_ids"] == [ev["meal_id"]]


@pytest.mark.parametrize("fault, check", [
    ("duplicate_storm", lambda gt, ev: gt["logs"]["cancel"]["DUPLICATE"] == ev["duplicate_total"]
     and ev["duplicate_total"] / ev["received_total"] > 0.05),
    ("noop_spike", lambda gt, ev: gt["db"]["cancel_events_noop"] == ev["noop_total"] >= 20),
    ("failed_spike", lambda gt, ev: gt["logs"]["worker"]["finalized_failed"] + gt["logs"]["backend"]["finalized_failed"]
     == ev["finalized_failed_total"] == gt["db"]["meals"]["FAILED"]),
    ("race_guard_spike", lambda gt, ev: gt["logs"]["worker"]["race_guard_cancelled"] == ev["race_guard_total"]),
])
def test_rate_faults_on_a_day(sandbox_state: Sandbox, fault: str, check) -> None:  # noqa: ANN001
    sandbox_state.traffic(seed=5, meals=60)
    ev = sandbox_state.inject(fault)
    gt = sandbox_state.ground_truth()
    assert check(gt, ev), ev


def test_worker_down(sandbox_state: Sandbox) -> None:
    sandbox_state.inject("worker_down")
    r = docker(sandbox_state, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}",
               "eatfit24-celery-worker-1")
    assert r.stdout.split() == ["exited", "137", "true"]


def test_unknown_fault(sandbox_state: Sandbox) -> None:
    with pytest.raises(KeyError):
        sandbox_state.inject("nope")
