"""`inv predeploy --drive` with the `eatfit24` driver: the Mini App's own requests (multipart
upload, task poll, batch Cancel) against the sandbox's HTTP API, the host reached through a
real OpenSSH sshd on 127.0.0.1. Recognition time is the sandbox's (random, seeded here), not
set by the driver. Expectations are cross-checked in the sandbox's database (real ORM)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from runbooks.sandbox import faultflags

from .helpers import Phone, api_user_id, checks, run_predeploy, write_config


def _timing(sb: Any, lo: float, hi: float, seed: int) -> None:
    """The sandbox's recognition time: uniform in [lo, hi] s per photo, from `seed`."""
    path = sb.paths.config
    conf = json.loads(path.read_text()) if path.exists() else {}
    conf.update(recognition_delay_s=[lo, hi], recognition_seed=seed)
    path.write_text(json.dumps(conf))


def _driven(tmp_path: Path, target: dict[str, Any], sb: Any, *args: str, **predeploy: Any) -> tuple[int, dict[str, Any], str]:
    conf = {"test_user_id": api_user_id(sb), "driver": "eatfit24", **predeploy}
    config = write_config(tmp_path, target, predeploy=conf)
    proc = run_predeploy(config, "--drive", "--yes", "--json", "--transcript-dir", str(tmp_path / "tr"), *args)
    assert proc.stdout.count("\n") == 1, proc.stdout + proc.stderr  # exactly one JSON document
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(doc["transcript"]).parent / "events.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def _created_meals(doc: dict[str, Any]) -> list[int]:
    text = Path(doc["transcript"]).read_text()
    m = re.search(r"test meals created by this run: ([\d, ]+)", text)
    assert m, "the transcript lists the test meals"
    return [int(x) for x in m.group(1).split(",")]


def test_a_b_c_pass_through_the_real_api_on_a_correct_backend(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                              tmp_path: Path) -> None:
    _timing(sandbox, 1.0, 2.0, seed=7)
    rc, doc, err = _driven(tmp_path, ssh_sandbox, sandbox)
    assert rc == 0, err
    found = checks(doc)
    for key in "abc":
        assert found[f"predeploy_scenario_{key}"]["status"] == "ok", found[f"predeploy_scenario_{key}"]
    # what the driver sent is what the Mini App sends
    events = _events(doc)
    posts = [e for e in events if e["type"] == "http" and e["method"] == "POST"]
    assert sum(e["url"].endswith("/api/v1/ai/recognize/") for e in posts) >= 6  # A 3, B 2, C 1
    assert any(e["type"] == "http" and "/api/v1/ai/task/" in e["url"] for e in events)
    from apps.nutrition.models import CancelEvent, Meal, MealPhoto

    cancels = list(CancelEvent.objects.order_by("id"))
    assert len(cancels) == 3
    for ev in cancels:
        photos = sorted(MealPhoto.objects.filter(meal_id=ev.payload["meal_id"]).values_list("id", flat=True))
        assert ev.payload["reason"] == "user_cancel" and ev.run_id
        assert sorted(ev.payload["meal_photo_ids"]) == photos  # ALL the batch's photos
        assert 1 <= len(ev.payload["task_ids"]) <= len(photos)  # only the tasks still in flight
    a, b, c = (Meal.objects.get(id=ev.payload["meal_id"]) for ev in cancels)
    assert a.status == "COMPLETE" and {"SUCCESS", "CANCELLED"} <= set(a.photos.values_list("status", flat=True))
    assert b.status == "FAILED" and set(b.photos.values_list("status", flat=True)) == {"CANCELLED"}
    assert set(c.photos.values_list("status", flat=True)) == {"CANCELLED"}
    # the test meals are listed; without --cleanup they stay
    assert sorted(_created_meals(doc)) == sorted([a.id, b.id, c.id])
    assert Meal.objects.filter(id__in=[a.id, b.id, c.id]).count() == 3
    assert "INCONCLUSIVE" not in err


def test_b_fails_with_the_stuck_meal_when_the_batch_cancel_does_not_finalize(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                             tmp_path: Path) -> None:
    history = sandbox.inject("cancel_no_finalize")  # today's backend: the batch cancel never finalizes (from now on too)
    assert faultflags.is_active(sandbox.paths, "cancel_no_finalize")
    _timing(sandbox, 1.0, 1.5, seed=3)
    phone = Phone(sandbox)
    busy = [phone.upload(delay=20.0) for _ in range(2)]  # both worker processes busy: B's tasks stay queued
    rc, doc, err = _driven(tmp_path, ssh_sandbox, sandbox, "--scenario", "B", stuck_grace_s=2)
    assert rc == 2, err
    f = checks(doc)["predeploy_scenario_b"]
    assert f["status"] == "alert" and f["severity"] == "P0"
    assert "empty card" in f["action"] and "PROCESSING" in f["action"], f["action"]
    stuck = [e for e in f["evidence"] if e.get("stuck_meal")]
    assert stuck and stuck[0]["meal_status"] == "PROCESSING", f["evidence"]
    from apps.nutrition.models import Meal

    meal = Meal.objects.get(id=stuck[0]["meal_id"])
    assert meal.id not in {b["meal_id"] for b in busy} | {history["meal_id"]}  # the meal the scenario made
    assert meal.status == "PROCESSING" and set(meal.photos.values_list("status", flat=True)) == {"CANCELLED"}
    assert "timed out" not in f["action"] and "not settled" not in err


def test_b_passes_on_the_same_timing_when_the_batch_cancel_finalizes(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                     tmp_path: Path) -> None:
    _timing(sandbox, 1.0, 1.5, seed=3)
    phone = Phone(sandbox)
    for _ in range(2):
        phone.upload(delay=20.0)
    rc, doc, err = _driven(tmp_path, ssh_sandbox, sandbox, "--scenario", "B", stuck_grace_s=2)
    assert rc == 0, err
    f = checks(doc)["predeploy_scenario_b"]
    assert f["status"] == "ok"
    logs = [e["log"] for e in f["evidence"] if e.get("log")]
    meal_id = int(logs[0].split("meal_id=")[1].split()[0])
    from apps.nutrition.models import Meal

    assert Meal.objects.get(id=meal_id).status == "FAILED"


def test_a_scenario_whose_photo_finishes_before_cancel_is_inconclusive_then_retried(
        ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    sandbox.inject("instant_recognition")  # the photo is done before the driver can see it PROCESSING
    rc, doc, err = _driven(tmp_path, ssh_sandbox, sandbox, "--scenario", "C", "--retries", "1", "--cleanup")
    assert rc == 3, err  # could not prove: neither PASS nor FAIL
    assert doc["verdict"] == "unknown"
    f = checks(doc)["predeploy_scenario_c"]
    assert f["status"] == "error" and "INCONCLUSIVE" in f["title"] and "INCONCLUSIVE" in f["reason"]
    assert [a["attempt"] for a in f["evidence"]] == [1, 2]  # the first try and one retry
    assert all("finished before" in a["what_happened"] for a in f["evidence"]), f["evidence"]
    verdict = [ln for ln in err.splitlines() if ln.startswith("VERDICT")]
    assert verdict and "INCONCLUSIVE" in verdict[0] and "exit 3" in verdict[0], err
    assert "FAIL" not in verdict[0] and "PASS" not in verdict[0]
    from apps.nutrition.models import CancelEvent, Meal

    # Cancel was not clicked, or (a poll caught the instant PROCESSING) it landed after the photo finished
    assert all(ev.updated_photos == 0 for ev in CancelEvent.objects.all())
    created = _created_meals(doc)
    assert sorted(created) == sorted(a["meal_id"] for a in f["evidence"])
    assert not Meal.objects.filter(id__in=created).exists()  # --cleanup deleted them through the API
    deletes = [e for e in _events(doc) if e["type"] == "http_finished" and e["method"] == "DELETE"]
    assert [e["status"] for e in deletes] == [204, 204]
