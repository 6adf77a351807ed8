"""`inv predeploy --drive` on the sandbox reached through a real OpenSSH sshd on 127.0.0.1:
the scenarios pass on a healthy host and fail, saying why, when the sandbox's faults break
what they check. Expectations are cross-checked against the sandbox's database (real ORM)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .helpers import api_user_id, checks, run_predeploy, write_config


def _driven(tmp_path: Path, target: dict[str, Any], sb: Any, *args: str) -> tuple[int, dict[str, Any], str]:
    config = write_config(tmp_path, target, predeploy={"test_user_id": api_user_id(sb), "driver": "sandbox"})
    proc = run_predeploy(config, "--drive", "--yes", "--json", *args)
    assert proc.stdout.count("\n") == 1, proc.stdout + proc.stderr  # exactly one JSON document
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _docker_calls(sb: Any) -> list[dict[str, Any]]:
    path = sb.paths.calls
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def test_driven_scenarios_pass_over_ssh_within_budget(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    assert ssh_sandbox["transport"] == "ssh"
    rc, doc, err = _driven(tmp_path, ssh_sandbox, sandbox)
    assert rc == 0, err
    found = checks(doc)
    for key in ("a", "b", "c"):
        f = found[f"predeploy_scenario_{key}"]
        assert f["status"] == "ok" and f["severity"] == "P0", f
    # the whole driven run inside the checklist's 5 minutes, measured and reported
    assert 0 < doc["metrics"]["predeploy_total_seconds"] < 300
    print(f"driven A+B+C over ssh: {doc['metrics']['predeploy_total_seconds']} s")  # shown with -rP
    assert "Pre-deploy run took" in err and "PASS" in err
    # the evidence is real: the meals it names are what the database holds
    from apps.nutrition.models import FoodItem, Meal, MealPhoto

    logs = {k: [e["log"] for e in found[f"predeploy_scenario_{k}"]["evidence"] if e.get("log")] for k in "abc"}
    meal_a = int(logs["a"][0].split("meal_id=")[1].split()[0])
    assert Meal.objects.get(id=meal_a).status == "COMPLETE"
    statuses = sorted(MealPhoto.objects.filter(meal_id=meal_a).values_list("status", flat=True))
    assert "SUCCESS" in statuses and "CANCELLED" in statuses
    meal_b = int(logs["b"][0].split("meal_id=")[1].split()[0])
    assert Meal.objects.get(id=meal_b).status == "FAILED" and not FoodItem.objects.filter(meal_id=meal_b).exists()
    photo_c = int(logs["c"][0].split("Photo ")[1].split()[0])
    assert MealPhoto.objects.get(id=photo_c).status == "CANCELLED"
    # log scans started at the host-clock start of each scenario, over ssh through the shim
    since = [c for c in _docker_calls(sandbox) if "logs" in json.dumps(c) and "--since" in json.dumps(c)]
    assert len(since) >= 3


def test_race_guard_off_fails_scenario_c_and_says_why(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    sandbox.inject("race_guard_off")
    rc, doc, err = _driven(tmp_path, ssh_sandbox, sandbox, "--scenario", "C")
    assert rc == 2, err
    f = checks(doc)["predeploy_scenario_c"]
    assert f["status"] == "alert" and f["severity"] == "P0"
    assert "race guard" in f["action"] and "recognized_data" in f["action"], f["action"]
    leaked = [e for e in f["evidence"] if e.get("recognized_items")]
    assert leaked, f["evidence"]
    from apps.nutrition.models import MealPhoto

    photo = MealPhoto.objects.get(id=leaked[0]["photo_id"])
    assert photo.status == "CANCELLED" and photo.recognized_data.get("items")  # the evidence names the real leak
    assert "FAIL" in err


def test_serializer_leak_fails_scenario_a_naming_the_leaked_photo(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                  tmp_path: Path) -> None:
    sandbox.inject("serializer_leak")
    rc, doc, err = _driven(tmp_path, ssh_sandbox, sandbox, "--scenario", "A")
    assert rc == 2, err
    f = checks(doc)["predeploy_scenario_a"]
    assert f["status"] == "alert"
    assert "diary shows non-SUCCESS photo" in f["action"], f["action"]
    leaked = [e for e in f["evidence"] if e.get("leaked_in") == "diary"]
    assert leaked, f["evidence"]
    from apps.nutrition.models import MealPhoto

    for e in leaked:
        photo = MealPhoto.objects.get(id=e["photo_id"])
        assert photo.status == "CANCELLED" == e["status"]
        assert photo.meal_id == e["meal_id"]
