"""loop/until decisions as pure logic (a fake run_once; over sshd: test_run_ssh.py)."""

from __future__ import annotations

from typing import Any

from runbooks.lang.control import run_controlled
from runbooks.lang.model import Step
from runbooks.model import StepOutcome


def _runner(outputs: list[str]) -> tuple[Any, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def run_once(scope: dict[str, Any]) -> StepOutcome:
        seen.append(scope)
        out = outputs[min(len(seen) - 1, len(outputs) - 1)]
        return StepOutcome(status="ok", facts={"stdout": out, "exit_code": 0})

    return run_once, seen


def test_until_retries_with_the_delay_and_stops_when_true() -> None:
    run_once, seen = _runner(["503", "503", "200"])
    waits: list[float] = []
    step = Step(name="re", kind="shell", until="steps.re.stdout == '200'", retries="n | number", delay="d | number")
    outcome, output = run_controlled(step, {"steps": {}, "n": "5", "d": "0.25"}, run_once, waits.append)
    assert outcome.status == "ok" and len(seen) == 3 and waits == [0.25, 0.25]
    assert output["attempts"] == 3 and output["stdout"] == "200"


def test_until_exhausted_fails_with_why() -> None:
    run_once, seen = _runner(["503"])
    waits: list[float] = []
    step = Step(name="re", kind="shell", until="steps.re.stdout == '200'", retries=2, delay=0)
    outcome, output = run_controlled(step, {"steps": {}}, run_once, waits.append)
    assert outcome.status == "failed" and len(seen) == 3 and waits == [0, 0]
    assert "still false after 3 attempt(s)" in outcome.message and output["attempts"] == 3


def test_loop_runs_per_item_and_stops_at_the_first_failure() -> None:
    calls: list[Any] = []

    def run_once(scope: dict[str, Any]) -> StepOutcome:
        calls.append(scope["unit"])
        return StepOutcome(status="failed" if scope["unit"] == "b" else "ok", message="boom",
                           facts={"stdout": scope["unit"]})

    step = Step(name="each", kind="shell", loop="units", loop_var="unit")
    outcome, output = run_controlled(step, {"steps": {}, "units": ["a", "b", "c"]}, run_once, lambda s: None)
    assert calls == ["a", "b"] and outcome.status == "failed" and "item 2/3 ('b')" in outcome.message
    assert [r["stdout"] for r in output["results"]] == ["a", "b"] and output["results"][0]["unit"] == "a"


def test_a_loop_over_something_not_a_list_fails_the_step() -> None:
    step = Step(name="each", kind="shell", loop="n")
    outcome, _ = run_controlled(step, {"steps": {}, "n": 3}, lambda s: StepOutcome(), lambda s: None)
    assert outcome.status == "failed" and "not a list" in outcome.message
