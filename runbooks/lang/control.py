"""Per-step control flow: `loop:` over items, `until:` with retries and delay.

The engine hands over one function that runs the step's kind once with a given scope
(`run_once(scope) -> StepOutcome`) and one that waits (`wait(seconds)`, interruptible, no
busy loop); this module decides how many times and with what, and builds the step's
output (`steps.<name>`): for a loop, the last item's output plus `results` (one per item);
for until, the last attempt's plus `attempts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runbooks.lang.expr import evaluate, value_of
from runbooks.lang.model import Step
from runbooks.lang.outputs import step_output
from runbooks.model import StepOutcome

RunOnce = Callable[[dict[str, Any]], StepOutcome]
Wait = Callable[[float], None]
_DONE = ("ok", "skipped")


class ControlError(ValueError):
    """A loop list or retries/delay expression that cannot be used (the step fails)."""


def loop_items(step: Step, scope: Mapping[str, Any]) -> list[Any]:
    items = value_of(step.loop, scope) if isinstance(step.loop, str) else step.loop
    if isinstance(items, Mapping):
        return [{"key": k, "value": v} for k, v in items.items()]
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise ControlError(f"loop: {step.loop!r} gives {type(items).__name__}, not a list")
    return list(items)


def _int(value: Any, key: str, scope: Mapping[str, Any]) -> float:
    v = value_of(value, scope) if isinstance(value, str) else value
    try:
        n = float(v)
    except (TypeError, ValueError):
        raise ControlError(f"{key}: {value!r} gives {v!r}, not a number") from None
    if not 0 <= n <= 86400:
        raise ControlError(f"{key}: {n:g} is out of range")
    return n


def attempts_of(step: Step, scope: Mapping[str, Any]) -> int:
    """How many times an `until:` step may run: its retries + 1 (ControlError when unusable)."""
    return int(_int(step.retries, "retries", scope)) + 1


def run_controlled(step: Step, scope: dict[str, Any], run_once: RunOnce, wait: Wait,
                   dry_run: bool = False) -> tuple[StepOutcome, dict[str, Any]]:
    """Run the step (looped, retried) -> (the combined outcome, its output). Under --dry-run
    an `until:` is not waited for: what it waits for (a restart) was not done."""
    try:
        items = loop_items(step, scope) if step.loop is not None else None
    except Exception as exc:  # noqa: BLE001 - an unusable loop fails this step, with why
        outcome = StepOutcome(status="failed", message=f"loop: {exc}")
        return outcome, step_output(step.name, outcome)
    if items is None:
        return _until(step, scope, run_once, wait, dry_run)
    results: list[dict[str, Any]] = []
    findings = []
    outcome = StepOutcome(status="ok", message="no items")
    output = step_output(step.name, outcome)
    for n, item in enumerate(items, 1):
        outcome, output = _until(step, {**scope, step.loop_var: item}, run_once, wait, dry_run)
        results.append({**output, step.loop_var: item})
        findings.extend(outcome.findings)
        if outcome.status not in _DONE:
            outcome.message = f"item {n}/{len(items)} ({item!r}): {outcome.message}"
            break
    combined = StepOutcome(status=outcome.status, message=outcome.message if outcome.status not in _DONE
                           else f"{len(results)} item(s)", facts=outcome.facts, findings=findings,
                           metrics=outcome.metrics, coverage=outcome.coverage, cannot_run=outcome.cannot_run)
    return combined, {**output, "results": results, "findings": [f for r in results for f in r["findings"]],
                      "status": combined.status, "message": combined.message}


def _until(step: Step, scope: dict[str, Any], run_once: RunOnce, wait: Wait,
           dry_run: bool = False) -> tuple[StepOutcome, dict[str, Any]]:
    if step.until is None or dry_run:
        outcome = run_once(scope)
        if step.until is not None and outcome.status == "ok":
            outcome.message = "dry-run: ran once, `until:` not waited for" + (f"; {outcome.message}" if outcome.message else "")
        return outcome, step_output(step.name, outcome)
    try:
        attempts = attempts_of(step, scope)
        delay = _int(step.delay, "delay", scope)
    except Exception as exc:  # noqa: BLE001
        outcome = StepOutcome(status="failed", message=str(exc))
        return outcome, step_output(step.name, outcome)
    why = ""
    for attempt in range(1, attempts + 1):
        outcome = run_once(scope)
        output = step_output(step.name, outcome, attempts=attempt)
        steps = {**scope.get("steps", {}), step.name: output}
        try:
            if evaluate(step.until, {**scope, "steps": steps}):
                outcome.message = f"until: true after {attempt} attempt(s)" + (f"; {outcome.message}" if outcome.message else "")
                outcome.status = "ok" if outcome.status == "failed" else outcome.status
                return outcome, {**output, "status": outcome.status, "message": outcome.message}
            why = "still false"
        except Exception as exc:  # noqa: BLE001 - e.g. the output not a number yet: not done
            why = f"cannot evaluate: {exc}"
        if attempt < attempts:
            wait(delay)
    failed = StepOutcome(status="failed", facts=outcome.facts, findings=outcome.findings,
                         message=f"until: {step.until} {why} after {attempts} attempt(s)")
    return failed, {**step_output(step.name, failed, attempts=attempts)}
