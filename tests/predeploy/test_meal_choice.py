"""The meal under test is never guessed when several fit (issue: "the newest meal of the test
user created after the scenario started; if none or several fit, ask, or fail with the
candidates listed when not interactive").

Operator mode, through a real pseudo-terminal: the test makes TWO meals for the test user
while the run waits at "Press Enter when done"; runbooks lists both and asks which one; the id
typed is the meal verified (the other is named nowhere in the verdict), `q` aborts (exit 4).

Driven (nobody to ask): a `date` placed first on the local target's PATH prints the real host
time (the scenario's start mark) and then, before the clock command returns, uploads one photo
for the test user through the sandbox's real HTTP endpoint, as a second phone would. So the
extra meal exists after the start mark and before the first meal query, without any timing
luck; the driver then makes its own meal, and the scenario must FAIL naming both."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pexpect

from .helpers import ROOT, Phone, api_user_id, checks, run_predeploy, task_env, write_config


def _spawn(config: Path, *args: str) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "invoke", "-r", str(ROOT), "predeploy", "--target", "stg", *args],
                         env=task_env(config), encoding="utf-8", timeout=60, dimensions=(50, 200))


def _events(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for p in (tmp_path / "transcripts").glob("*/events.jsonl") for ln in p.read_text().splitlines()]


def _docker_calls(sb: Any) -> list[str]:
    """The docker subcommands that reached the sandbox's docker shim, in order."""
    path = sb.paths.calls
    return [json.loads(ln)["argv"][1] for ln in path.read_text().splitlines()] if path.exists() else []


def _names(text: str, meal_id: int) -> bool:
    """`text` names meal `meal_id` the way the tool writes it ("meal 12 (", "meal_id=12", "meal 12")."""
    return re.search(rf"(?:meal |meal_id=|\"meal_id\": ){meal_id}\b", text) is not None


def _two_meals_while_waiting(sb: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scenario C's clicks (the meal meant to be tested), then an unrelated upload: a newer meal."""
    phone = Phone(sb)
    tested = phone.scenario_c()
    other = phone.upload(delay=0.2)
    assert other["meal_id"] != tested["meal_id"]
    return tested, other


def _listing_and_choice_prompt(child: pexpect.spawn) -> None:
    child.expect("several meals of user")
    child.expect("Type the id of the meal under test")


def test_operator_is_asked_which_meal_and_the_chosen_one_is_verified(sandbox: Any, sandbox_target: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox)})
    child = _spawn(config, "--scenario", "C", "--timeout", "60")
    child.expect("Press Enter when done")
    tested, other = _two_meals_while_waiting(sandbox)
    chosen, not_chosen = tested["meal_id"], other["meal_id"]  # the OLDER one: the newest is not taken by default
    child.sendline("")
    _listing_and_choice_prompt(child)
    child.sendline("999999")  # not a candidate: said so, and asked again
    child.expect("is not one of")
    child.expect("Type the id of the meal under test")
    child.sendline(str(chosen))
    child.expect(pexpect.EOF, timeout=90)
    child.close()
    out = child.before or ""
    assert child.exitstatus == 0, out
    assert f"Photo {tested['meal_photo_id']} is in terminal state CANCELLED" in out

    events = _events(tmp_path)
    listing = [e["text"] for e in events if e["type"] == "note" and e["text"].startswith("several meals of user")]
    assert len(listing) == 1 and _names(listing[0], chosen) and _names(listing[0], not_chosen), listing
    asked = [e for e in events if e["type"] == "prompt" and e["prompt"].startswith("Type the id")]
    assert [e["answer"] for e in asked] == ["999999", str(chosen)]
    under_test = [e["text"] for e in events if e["type"] == "note" and e["text"].startswith("meal under test:")]
    assert len(under_test) == 1 and under_test[0].startswith(f"meal under test: meal {chosen} ("), under_test
    finished = [e for e in events if e["type"] == "step_finished" and e["step"].endswith("c")]
    assert finished and finished[-1]["message"] == f"PASS (meal {chosen})", finished
    finding = next(e for e in events if e["type"] == "finding" and e["id"] == "predeploy_scenario_c")
    assert finding["status"] == "ok", finding
    verdict = json.dumps({k: finding[k] for k in ("title", "evidence", "action")})
    assert not _names(verdict, not_chosen), verdict
    photos = [e["photo_id"] for e in finding["evidence"] if "photo_id" in e]
    assert photos and set(photos) == {tested["meal_photo_id"]}, finding["evidence"]  # the chosen meal's photo
    assert all(e["meal_id"] == chosen for e in finding["evidence"] if "meal_id" in e), finding["evidence"]


def test_q_at_the_meal_choice_aborts_with_exit_4_before_verifying(sandbox: Any, sandbox_target: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox)})
    child = _spawn(config, "--scenario", "C", "--timeout", "60")
    child.expect("Press Enter when done")
    _two_meals_while_waiting(sandbox)
    child.sendline("")
    _listing_and_choice_prompt(child)
    child.sendline("q")
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 4, child.before
    assert "aborted" in (child.before or "").lower()
    calls = _docker_calls(sandbox)
    assert "exec" in calls  # the meals were looked up (that is how both were found) ...
    assert "logs" not in calls  # ... but no log scan: nothing was verified after the abort
    assert not any(e["type"] == "finding" for e in _events(tmp_path))


def _extra_meal_at_start_mark(tmp_path: Path, sb: Any) -> tuple[dict[str, Any], Path]:
    """A PATH entry whose `date` runs the real one, then (once) uploads a photo for the test user."""
    hook = tmp_path / "hook"
    hook.mkdir()
    made = tmp_path / "extra-meal.json"
    upload = hook / "upload.py"
    upload.write_text(
        "import json, sys, urllib.request\n"
        f"base, init, out = {sb.base_url!r}, {sb.init_data!r}, {str(made)!r}\n"
        "req = urllib.request.Request(base + '/api/v1/ai/recognize/', method='POST',\n"
        "    data=json.dumps({'sandbox_delay': 0.2}).encode(),\n"
        "    headers={'X-Telegram-Init-Data': init, 'Content-Type': 'application/json'})\n"
        "with urllib.request.urlopen(req, timeout=10) as resp:\n"
        "    open(out, 'w').write(resp.read().decode())\n")
    real_date = shutil.which("date")
    assert real_date
    date = hook / "date"
    date.write_text(f"#!/bin/sh\n{real_date} \"$@\" || exit $?\n"
                    f"[ -e {made} ] || {sys.executable} {upload} >/dev/null 2>{hook / 'upload.err'} || exit 97\n")
    date.chmod(0o755)
    target = dict(sb.target())
    target["env"] = {**target["env"], "PATH": f"{hook}:{target['env']['PATH']}"}
    return target, made


def test_driven_run_with_two_fitting_meals_fails_listing_both(sandbox: Any, tmp_path: Path) -> None:
    target, made = _extra_meal_at_start_mark(tmp_path, sandbox)
    config = write_config(tmp_path, target, predeploy={"test_user_id": api_user_id(sandbox), "driver": "sandbox"})
    proc = run_predeploy(config, "--drive", "--yes", "--json", "--scenario", "C")
    assert made.exists(), (tmp_path / "hook" / "upload.err").read_text()
    extra = json.loads(made.read_text())["meal_id"]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    f = checks(doc)["predeploy_scenario_c"]
    assert f["status"] == "alert" and f["severity"] == "P0", f
    assert "several meals" in f["action"] and "cannot tell which is under test" in f["action"], f["action"]
    driven = [e for e in _events(tmp_path) if e["type"] == "note" and e["text"].startswith("driver: uploaded photo")]
    assert len(driven) == 1, driven
    driver_meal = int(driven[0]["text"].split(" to meal ")[1].split()[0])
    assert driver_meal != extra
    for meal_id in (extra, driver_meal):  # both candidates, in the verdict and on the terminal
        assert _names(f["action"], meal_id), f["action"]
        assert _names(proc.stderr, meal_id), proc.stderr
    assert "meal under test:" not in proc.stderr  # no meal was picked
    calls = _docker_calls(sandbox)
    assert "exec" in calls and "logs" not in calls  # looked up, but nothing verified against a guessed meal
