"""Step kinds of `playbooks/predeploy.yml`.

  predeploy.preflight  the target can be checked: test user, diary API, driver (exit 3 if not)
  predeploy.plan       driven runs: say what will be done to the target, ask once (--yes answers)
  predeploy.scenario   one scenario: checklist, host-clock start, operator or driver, then
                       identify the meal and verify it with evidence (findings predeploy_scenario_x)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from runbooks.model import Batch, Confirm, Finding, HttpRequest, Note, Prompt, StepOutcome
from runbooks.packs.eatfit24.predeploy import driver as drivers
from runbooks.packs.eatfit24.predeploy.clock import clock_command, parse_host_time
from runbooks.packs.eatfit24.predeploy.pick import choose, describe, emptied, pick_meal, settled
from runbooks.packs.eatfit24.predeploy.poll import Backoff
from runbooks.packs.eatfit24.predeploy.remote import (
    LogScan,
    RemoteError,
    UserRef,
    logs_command,
    meals_command,
    parse_logs,
    parse_meals,
)
from runbooks.packs.eatfit24.predeploy.scenarios import SCENARIOS, Scenario
from runbooks.packs.eatfit24.predeploy.verify import VERIFIERS, Diary, Outcome, expected_log_present, parse_diary
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

LOG_GRACE_S = 5.0  # logs are written before the DB commit: once the meal settled, lines are there
LATE_RESULT_S = 30.0  # C: a meal finalized at Cancel; the cancelled photo's task ends later
DEFAULT_RETRIES = 2  # driven runs: retries of a scenario whose timing did not happen
STUCK_GRACE_S = 10.0  # a PROCESSING meal with no active photo: how long finalization may still come


def _test_user(ctx: StepContext) -> UserRef | None:
    """`predeploy.test_user_id` (or `test_username`); the sandbox's API user by default."""
    conf = ctx.target.predeploy
    raw = conf.get("test_user_id")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isdigit():
            return None
        return UserRef(user_id=int(raw))
    name = conf.get("test_username")
    if isinstance(name, str) and name:
        return UserRef(username=name)
    if ctx.target.role == "sandbox":
        from runbooks.sandbox.users import API_USERNAME

        return UserRef(username=API_USERNAME)
    return None


@step_kind("predeploy.preflight")
def preflight(step: Step, ctx: StepContext) -> StepGen:
    problems: list[str] = []
    user = _test_user(ctx)
    if user is None:
        problems.append(f"targets.{ctx.target.name}.predeploy.test_user_id: required, an integer (the user whose meals are checked)")
    if not ctx.target.api.base_url:
        problems.append(f"targets.{ctx.target.name}.api.base_url: required (the diary is checked through the API)")
    else:
        _, missing = ctx.target.api.resolved_headers()
        if missing:
            problems.append(f"targets.{ctx.target.name}.api.headers: environment variable(s) not set: {', '.join(missing)}")
    if ctx.vars.get("drive") and drivers.driver_name(ctx.target) is None:
        problems.append(f"--drive: target {ctx.target.name} has no driver (set targets.{ctx.target.name}.predeploy.driver)")
    if ctx.vars.get("drive") and drivers.driver_name(ctx.target) == "eatfit24":
        from runbooks.packs.eatfit24.predeploy.photos import PhotosError, load_photos

        try:
            load_photos(ctx.target.predeploy.get("photos_dir"))
        except PhotosError as exc:
            problems.append(f"targets.{ctx.target.name}.{exc}")
    if problems:
        return StepOutcome(status="failed", message="; ".join(problems), cannot_run=True)
    scen = list(ctx.vars.get("scenarios") or SCENARIOS)
    mode = f"driven by the {drivers.driver_name(ctx.target)} driver" if ctx.vars.get("drive") else "operator clicks, runbooks waits"
    yield Note(f"scenarios {', '.join(scen)} on {ctx.target.name} (role {ctx.target.role}) as test user {user}; {mode}")
    return StepOutcome(message=f"test user {user}", facts={"test_user": str(user), "scenarios": scen})


@step_kind("predeploy.plan")
def plan(step: Step, ctx: StepContext) -> StepGen:
    scen = list(ctx.vars.get("scenarios") or SCENARIOS)
    user = _test_user(ctx)
    actions = [f"{k}: " + "; ".join(SCENARIOS[k].ui_steps) for k in scen]
    yield Confirm(f"Drive scenarios {', '.join(scen)} on {ctx.target.name}: uploads test photos and cancels them "
                  f"as test user {user} through {ctx.target.api.base_url}", tuple(actions))
    return StepOutcome(message="operator agreed to drive the scenarios")


def _validate_scenario(params: Mapping[str, Any]) -> None:
    if str(params.get("scenario", "")).upper() not in SCENARIOS:
        raise ValueError("scenario: required, one of A, B, C")


@step_kind("predeploy.scenario", _validate_scenario)
def scenario_step(step: Step, ctx: StepContext) -> StepGen:
    sc = SCENARIOS[str(step.params["scenario"]).upper()]
    user = _test_user(ctx)
    if user is None:
        return StepOutcome(status="failed", message="no test user (predeploy.test_user_id)", cannot_run=True)
    timeout = float(ctx.vars.get("timeout") or 120)
    begun = time.monotonic()
    yield Note(f"Scenario {sc.key}: {sc.title}")
    for i, s in enumerate(sc.ui_steps, 1):
        yield Note(f"  [ ] {i}. {s}")
    for e in sc.expected:
        yield Note(f"  expect: {e}")
    retries = int(ctx.vars.get("retries", DEFAULT_RETRIES))
    attempts: list[dict[str, Any]] = []  # the inconclusive ones: what happened each time
    created: list[int] = []  # test meals the driver created (listed, and deleted with --cleanup)
    while True:
        res = yield clock_command()
        try:
            start = parse_host_time(res.stdout) if res.ok else None
        except ValueError as exc:
            return StepOutcome(status="failed", message=str(exc), cannot_run=True)
        if start is None:
            return StepOutcome(status="failed", message=f"cannot read the host's clock (exit {res.exit_code})", cannot_run=True)
        yield Note(f"scenario {sc.key} started at {start.raw} (host clock)")
        facts: dict[str, Any] = {"scenario": sc.key, "title": sc.title, "start": start.raw, "test_user": str(user),
                                 "mode": "driven" if ctx.vars.get("drive") else "operator",
                                 "created_meals": created, "attempts": attempts}
        driven_meal: int | None = None
        if not ctx.vars.get("drive"):
            answer = yield Prompt(f"Do the steps above on {ctx.target.name} now, as test user {user}. "
                                  f"Press Enter when done (q aborts, {timeout:g} s timeout):", timeout=timeout)
            if answer is None:
                yield Note(f"no answer within {timeout:g} s: verifying what is there now", "warn")
                facts["prompt_timed_out"] = True
            break
        run = drivers.DriveRun()
        try:
            yield from drivers.drive(sc.key, ctx, timeout, len(attempts) + 1, run)
        except drivers.DriverError as exc:
            created.extend(run.meals_created)
            facts.update(passed=False, differences=[f"driver: {exc}"], driver=run.to_dict())
            return _result(sc, facts, None, f"driver failed: {exc}", time.monotonic() - begun)
        created.extend(run.meals_created)
        facts["driver"] = run.to_dict()
        if not run.inconclusive:
            driven_meal = run.meal_id
            break
        attempts.append({"attempt": run.attempt, "meal_id": run.meal_id, "what_happened": run.inconclusive,
                         "photo_statuses": dict(run.statuses)})
        yield Note(f"scenario {sc.key}, attempt {run.attempt}: INCONCLUSIVE, {run.inconclusive}", "warn")
        if len(attempts) > retries:
            return _inconclusive(sc, ctx, facts, attempts, time.monotonic() - begun)
        yield Note(f"retrying scenario {sc.key} ({len(attempts)}/{retries} retries used)")
    # --- the meal under test, and wait until it is settled (the checklist's "wait")
    if created:
        yield Note(f"test meal(s) created by the driver: {', '.join(str(m) for m in created)}")
    meal, why, fatal = yield from _wait_for_meal(ctx, user, start.iso, timeout, interactive=_may_ask(ctx))
    if fatal:
        return StepOutcome(status="failed", message=why, facts=facts, cannot_run=True)
    if meal is None:
        facts.update(passed=False, differences=[why])
        return _result(sc, facts, None, why, time.monotonic() - begun)
    facts["meal_id"] = meal["id"]
    facts["meal"] = meal
    yield Note(f"meal under test: {describe(meal)}")
    if driven_meal is not None and driven_meal != meal["id"]:
        yield Note(f"the driver created meal {driven_meal}, but the newest meal of user {user} is {meal['id']}", "warn")
    # --- the worker log since the start (grace: lines precede the DB commit)
    wait = LATE_RESULT_S if sc.key == "C" else LOG_GRACE_S
    grace = min(wait, max(1.0, timeout - (time.monotonic() - begun))) if settled(meal) else 1.0
    logs = yield from _wait_for_logs(ctx, sc.key, meal, start.docker, grace)
    if isinstance(logs, str):
        return StepOutcome(status="failed", message=logs, facts=facts, cannot_run=True)
    if sc.key == "C" and any(logs.succeeded(p["id"]) for p in meal["photos"]):
        meal = yield from _reread(ctx, user, start.iso, meal)  # the late result landed after the meal was read
    # --- the diary (the user's view), from the operator's machine
    diary = yield from _read_diary(ctx, meal["date"])
    outcome = VERIFIERS[sc.key](meal, logs, diary)
    if driven_meal is not None and driven_meal != meal["id"]:
        outcome.checks.append(_driver_mismatch(driven_meal, meal["id"]))
    for c in outcome.checks:
        yield Note(f"  {'ok  ' if c.ok else 'FAIL'} {c.what}" + (f": {c.detail}" if c.detail else ""),
                   "info" if c.ok else "error")
    facts.update(passed=outcome.passed, differences=outcome.differences, evidence=outcome.evidence(),
                 log_lines=[ln for ln in logs.lines if str(meal["id"]) in ln or any(str(p["id"]) in ln for p in meal["photos"])])
    return _result(sc, facts, outcome, "; ".join(outcome.differences), time.monotonic() - begun)


def _driver_mismatch(driven: int, found: int) -> Any:
    from runbooks.packs.eatfit24.predeploy.verify import Check

    return Check("the meal found is the one the driver created", False, f"driver created meal {driven}, found {found}",
                 [{"driver_meal_id": driven, "found_meal_id": found}])


def _may_ask(ctx: StepContext) -> bool:
    return bool(ctx.vars.get("interactive")) and not ctx.vars.get("drive")


def _wait_for_meal(ctx: StepContext, user: UserRef, since_iso: str, timeout: float, interactive: bool) -> Any:
    """Poll the DB until the meal under test exists and is settled, or the deadline passes.

    Returns (meal | None, why, fatal): fatal means the check itself cannot run (exit 3)."""
    backoff = Backoff(timeout)
    current: dict[str, Any] | None = None
    chosen_id: int | None = None  # the operator's choice among several candidates
    grace = float(ctx.target.predeploy.get("stuck_grace_s") or STUCK_GRACE_S)
    emptied_since: float | None = None  # the meal PROCESSING with every photo terminal, since
    while True:
        res = yield meals_command(ctx.vars["backend"], user, since_iso)
        try:
            doc = parse_meals(res.stdout, res.stderr)
        except RemoteError as exc:
            return None, f"cannot query the database: {exc}", True
        if not doc.get("user_exists", True):
            return None, f"test user {user} does not exist on {ctx.target.name} (predeploy.test_user_id)", True
        if user.user_id is None and doc.get("user_id") is not None:
            user = UserRef(user_id=int(doc["user_id"]))  # resolved once; later polls use the id
        meals = doc.get("meals", [])
        if chosen_id is not None:
            current = next((m for m in meals if m["id"] == chosen_id), current)
        else:
            pick = pick_meal(meals)
            if pick.problem == "several":
                listing = "; ".join(describe(m) for m in meals)
                if not interactive:
                    return None, (f"several meals of user {user} were created since the scenario started, cannot tell "
                                  f"which is under test: {listing}"), False
                yield Note(f"several meals of user {user} were created since the start: {listing}", "warn")
                while current is None:
                    answer = yield Prompt("Type the id of the meal under test (q aborts):")
                    current = choose(meals, answer or "")
                    if current is None:
                        yield Note(f"{answer!r} is not one of {', '.join(str(m['id']) for m in meals)}", "warn")
                chosen_id = current["id"]
            else:
                current = pick.meal
        if current is not None and settled(current):
            return current, "", False
        if current is not None and emptied(current):
            emptied_since = emptied_since if emptied_since is not None else time.monotonic()
            if time.monotonic() - emptied_since >= grace:
                yield Note(f"meal {current['id']} stays {current['status']} with every photo terminal for {grace:g} s: "
                           "nothing finalized it (an empty card in the diary)", "warn")
                return current, "", False
        else:
            emptied_since = None
        if not backoff.wait():
            break
    if current is not None:
        yield Note(f"meal {current['id']} is not settled after {timeout:g} s (finalization missed?)", "warn")
        return current, "", False
    return None, f"no meal of test user {user} was created since the scenario started ({since_iso}, host clock)", False


def _reread(ctx: StepContext, user: UserRef, since_iso: str, meal: dict[str, Any]) -> Any:
    res = yield meals_command(ctx.vars["backend"], user, since_iso)
    try:
        doc = parse_meals(res.stdout, res.stderr)
    except RemoteError:
        return meal
    return next((m for m in doc.get("meals", []) if m["id"] == meal["id"]), meal)


def _wait_for_logs(ctx: StepContext, key: str, meal: dict[str, Any], since: str, grace: float) -> Any:
    """The worker's and the backend's log since the start (the legacy cancel, and a fixed
    batch cancel, finalize inside the backend: its Finalized lines are in the backend log)."""
    backoff = Backoff(grace)
    containers = (ctx.vars["worker"], ctx.vars["backend"])
    while True:
        results = yield Batch(tuple(logs_command(c, since) for c in containers))
        try:
            logs = LogScan([ln for c, res in zip(containers, results, strict=True) for ln in parse_logs(res.stdout, c).lines])
        except RemoteError as exc:
            return str(exc)
        if expected_log_present(key, meal, logs) or not backoff.wait():
            return logs


def _read_diary(ctx: StepContext, date: str) -> Any:
    url = f"{ctx.target.api.base_url}/api/v1/meals/?{urlencode({'date': date})}"
    resp = yield HttpRequest("GET", url, timeout=ctx.target.api.timeout)
    body: Any = None
    if resp.status == 200:
        try:
            body = resp.json()
        except ValueError:
            body = None
    return parse_diary(resp.status, body, resp.error)


def _result(sc: Scenario, facts: dict[str, Any], outcome: Outcome | None, why: str, seconds: float) -> StepOutcome:
    passed = bool(facts.get("passed"))
    facts["duration_s"] = round(seconds, 2)
    evidence = facts.get("evidence") or ([{"reason": why}] if why else [])
    finding = Finding(
        id=sc.finding_id, severity="P0", check="predeploy",
        title=f"Scenario {sc.key} ({sc.title}): {'PASS' if passed else 'FAIL'}",
        status="ok" if passed else "alert", count=0 if passed else max(1, len(facts.get("differences") or [])),
        evidence=evidence, action="" if passed else why,
        threshold=f"meal finalized {sc.meal_status}, expectations of checklist scenario {sc.key}",
    )
    msg = f"PASS (meal {facts.get('meal_id')})" if passed else f"FAIL: {why}"
    return StepOutcome(status="ok", message=msg, facts=facts, findings=[finding],
                       metrics={f"predeploy_{sc.key.lower()}_passed": int(passed),
                                f"predeploy_{sc.key.lower()}_seconds": round(seconds, 2)})


def _inconclusive(sc: Scenario, ctx: StepContext, facts: dict[str, Any], attempts: list[dict[str, Any]],
                  seconds: float) -> StepOutcome:
    """Every attempt missed the timing the scenario needs: no PASS, no FAIL, exit 3."""
    facts["duration_s"] = round(seconds, 2)
    why = f"{len(attempts)} attempt(s), the timing never happened; last: {attempts[-1]['what_happened']}"
    facts.update(passed=False, inconclusive=why, differences=[])
    finding = Finding(
        id=sc.finding_id, severity="P0", check="predeploy", status="error",
        title=f"Scenario {sc.key} ({sc.title}): INCONCLUSIVE",
        reason=f"INCONCLUSIVE: {why}", evidence=attempts,
        action=f"scenario {sc.key} was not exercised, so it proves nothing: run it again (--retries) or by hand",
        threshold=f"the timing checklist scenario {sc.key} needs ({'; '.join(sc.ui_steps)})",
    )
    keys = [k for k, other in SCENARIOS.items() if (ctx.facts.get(other.step_name) or {}).get("inconclusive")]
    ran = f"INCONCLUSIVE (could not prove): scenario(s) {', '.join([*keys, sc.key])}"
    return StepOutcome(status="ok", message=f"INCONCLUSIVE: {why}", facts=facts, findings=[finding], ran=ran,
                       metrics={f"predeploy_{sc.key.lower()}_passed": 0, f"predeploy_{sc.key.lower()}_inconclusive": 1,
                                f"predeploy_{sc.key.lower()}_seconds": round(seconds, 2)})


@step_kind("predeploy.test_meals")
def test_meals(step: Step, ctx: StepContext) -> StepGen:
    """The test meals the driven scenarios created: listed for the record; with --cleanup
    deleted through the API (`DELETE /api/v1/meals/<id>/`) as the test user."""
    meals = [m for sc in SCENARIOS.values() for m in (ctx.facts.get(sc.step_name) or {}).get("created_meals", [])]
    if not meals:
        return StepOutcome(message="no test meal was created", facts={"created_meals": []})
    yield Note(f"test meals created by this run: {', '.join(str(m) for m in meals)}")
    if not ctx.vars.get("cleanup"):
        return StepOutcome(message=f"{len(meals)} test meal(s) left in place (--cleanup deletes them): "
                                   + ", ".join(str(m) for m in meals), facts={"created_meals": meals, "deleted": []})
    deleted: list[int] = []
    failed: dict[str, str] = {}
    for meal_id in meals:
        resp = yield HttpRequest("DELETE", f"{ctx.target.api.base_url}/api/v1/meals/{meal_id}/", timeout=ctx.target.api.timeout)
        if resp.status in (200, 202, 204, 404):  # 404: already gone (e.g. finalized as an orphan)
            deleted.append(meal_id)
        else:
            failed[str(meal_id)] = resp.error or f"HTTP {resp.status}"
    facts = {"created_meals": meals, "deleted": deleted, "delete_failed": failed}
    if failed:
        yield Note(f"could not delete test meal(s): {failed}", "warn")
        return StepOutcome(status="failed", message=f"deleted {len(deleted)} of {len(meals)} test meals; failed: {failed}",
                           facts=facts)
    return StepOutcome(message=f"deleted {len(deleted)} test meal(s): {', '.join(str(m) for m in deleted)}", facts=facts)


__all__ = ["preflight", "plan", "scenario_step", "test_meals", "Diary", "LogScan"]
