"""`shell`: run one command template (rendered with the run's variables, all quoted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.commands import Command, check_template
from runbooks.model import StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind


def _validate(params: Mapping[str, Any]) -> None:
    if not isinstance(params.get("command"), str) or not params["command"].strip():
        raise ValueError("command: required, a command template string")
    try:
        check_template(params["command"])
    except ValueError as exc:
        raise ValueError(f"command: {exc}") from exc
    if not isinstance(params.get("vars", {}), Mapping):
        raise ValueError("vars: must be a mapping of name -> value")
    ok = params.get("ok_exit", [0])
    if not isinstance(ok, list) or not all(isinstance(x, int) for x in ok):
        raise ValueError("ok_exit: must be a list of exit codes")


@step_kind("shell", _validate)
def shell(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    res = yield Command(template=p["command"], vars={**ctx.vars, **p.get("vars", {})}, mutates=step.mutates,
                        timeout=step.timeout, stream=bool(p.get("stream", False)), label=step.name)
    if res.timed_out:
        return StepOutcome(status="timeout", message=f"timed out after {step.timeout or 'default'} s")
    if res.exit_code not in p.get("ok_exit", [0]) and not res.dry_run:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or [""]
        return StepOutcome(status="failed", message=f"exit {res.exit_code}: {tail[0][:200]}")
    return StepOutcome(status="ok", facts={"stdout": res.stdout, "exit_code": res.exit_code})
