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

from ..model import Confirm, Finding, HttpRequest, Note, Prompt, StepOutcome
from ..steps.base import Step, StepContext, StepGen, step_kind
from . import driver as drivers
from .clock import clock_command, parse_host_time
from .pick import choose, describe, pick_meal, settled
from .poll import Backoff
from .remote import LogScan, RemoteError, UserRef, logs_command, meals_command, parse_logs, parse_meals
from .scenarios import SCENARIOS, Scenario
from .verify import VERIFIERS, Diary, Outcome, expected_log_present, parse_diary

LOG_GRACE_S = 5.0  # logs are written before the DB commit: once the meal settled, lines are there


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
        from ..sandbox.users import API_USERNAME

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
    res = yield clock_command()
    try:
        start = parse_host_time(res.stdout) if res.ok else None
    except ValueError as exc:
        return StepOutcome(status="failed", message=str(exc), cannot_run=True)
    if start is None:
        return StepOutcome(status="failed", message=f"cannot read the host's clock (exit {res.exit_code})", cannot_run=True)
    yield Note(f"scenario {sc.key} started at {start.raw} (host clock)")
    facts: dict[str, Any] = {"scenario": sc.key, "title": sc.title, "start": start.raw, "test_user": str(user),
                             "mode": "driven" if ctx.vars.get("drive") else "operator"}
    driven_meal: int | None = None
    if ctx.vars.get("drive"):
        try:
            run = yield from drivers.drive(sc.key, ctx, timeout)
        except drivers.DriverError as exc:
            facts.update(passed=False, differences=[f"driver: {exc}"])
            return _result(sc, facts, None, f"driver failed: {exc}", time.monotonic() - begun)
        driven_meal = run.meal_id
        facts["driver"] = run.to_dict()
    else:
        answer = yield Prompt(f"Do the steps above on {ctx.target.name} now, as test user {user}. "
                              f"Press Enter when done (q aborts, {timeout:g} s timeout):", timeout=timeout)
        if answer is None:
            yield Note(f"no answer within {timeout:g} s: verifying what is there now", "warn")
            facts["prompt_timed_out"] = True
    # --- the meal under test, and wait until it is settled (the checklist's "wait")
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
    grace = min(LOG_GRACE_S, max(1.0, timeout - (time.monotonic() - begun))) if settled(meal) else 1.0
    logs = yield from _wait_for_logs(ctx, sc.key, meal, start.docker, grace)
    if isinstance(logs, str):
        return StepOutcome(status="failed", message=logs, facts=facts, cannot_run=True)
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
    from .verify import Check

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
        if not backoff.wait():
            break
    if current is not None:
        yield Note(f"meal {current['id']} is not settled after {timeout:g} s (finalization missed?)", "warn")
        return current, "", False
    return None, f"no meal of test user {user} was created since the scenario started ({since_iso}, host clock)", False


def _wait_for_logs(ctx: StepContext, key: str, meal: dict[str, Any], since: str, grace: float) -> Any:
    backoff = Backoff(grace)
    while True:
        res = yield logs_command(ctx.vars["worker"], since)
        try:
            logs = parse_logs(res.stdout, ctx.vars["worker"])
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


__all__ = ["preflight", "plan", "scenario_step", "Diary", "LogScan"]
