"""`shell`: run one command template (rendered with the run's variables, all quoted).

    - name: df
      kind: shell
      params:
        command: "df -P {{ path }}"
        ok_exit: [0]          # exit codes that are not a failure; `any` for a probe
        parse: lines          # json | lines: `steps.df.parsed` (else the facts)

Its output is `steps.<name>.stdout`, `.stderr`, `.exit_code` and `.parsed` for later steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runbooks.commands import Command, check_template
from runbooks.lang.expr import render_text
from runbooks.model import Confirm, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

PARAMS = ("command", "vars", "ok_exit", "stream", "parse")


SCHEMA = {
    "type": "object", "required": ["command"], "additionalProperties": False,
    "properties": {
        "command": {"type": "string", "description": "a command template: every {{ value }} is shell-quoted"},
        "vars": {"type": "object", "description": "variables for this command only"},
        "ok_exit": {"description": "exit codes that are not a failure (default [0]), or `any`",
                    "oneOf": [{"type": "array", "items": {"type": "integer"}}, {"const": "any"}]},
        "stream": {"type": "boolean", "description": "show the output live (long builds)"},
        "parse": {"enum": ["none", "json", "lines"], "description": "steps.<name>.parsed: the output as JSON or lines"},
    },
}


def _validate(params: Mapping[str, Any]) -> None:
    for key in params:
        if key not in PARAMS:
            raise ValueError(f"{key}: unknown parameter (allowed: {', '.join(PARAMS)})")
    if not isinstance(params.get("command"), str) or not params["command"].strip():
        raise ValueError("command: required, a command template string")
    try:
        check_template(params["command"])
    except ValueError as exc:
        raise ValueError(f"command: {exc}") from exc
    if not isinstance(params.get("vars", {}), Mapping):
        raise ValueError("vars: must be a mapping of name -> value")
    ok = params.get("ok_exit", [0])
    if ok != "any" and (not isinstance(ok, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in ok)):
        raise ValueError("ok_exit: must be a list of exit codes, or `any`")
    if params.get("parse", "none") not in ("none", "json", "lines"):
        raise ValueError("parse: must be json, lines or none")
    if not isinstance(params.get("stream", False), bool):
        raise ValueError("stream: must be true or false")


def _parsed(how: str, stdout: str) -> tuple[Any, str]:
    if how == "json":
        try:
            return json.loads(stdout), ""
        except json.JSONDecodeError as exc:
            return None, f"output is not JSON ({exc.msg} at line {exc.lineno})"
    if how == "lines":
        return [ln for ln in stdout.splitlines() if ln.strip()], ""
    return None, ""


@step_kind("shell", _validate, schema=SCHEMA)
def shell(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    scope = ctx.scope()
    command = Command(template=p["command"], vars={**scope, **p.get("vars", {})}, mutates=step.mutates,
                      timeout=step.timeout, stream=bool(p.get("stream", False)), label=step.name,
                      show=not p.get("stream", False),  # streamed output was shown as it came
                      ok_exit=None if p.get("ok_exit") == "any" else frozenset(p.get("ok_exit", [0])))
    if step.confirm and not step.mutates and not ctx.confirmed:
        # a read-only step the author wants confirmed: ask before it (a mutating one is
        # asked at its command, with the command shown)
        yield Confirm(render_text(step.confirm_text, scope) if step.confirm_text else f"Run step {step.name}?",
                      typed=True if step.confirm == "typed" else None)
    res = yield command
    facts: dict[str, Any] = {"stdout": res.stdout, "stderr": res.stderr, "exit_code": res.exit_code}
    if res.timed_out:
        return StepOutcome(status="timeout", message=f"timed out after {step.timeout or 'default'} s", facts=facts)
    ok = p.get("ok_exit", [0])
    if ok != "any" and res.exit_code not in ok and not res.dry_run:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or [""]
        return StepOutcome(status="failed", message=f"exit {res.exit_code}: {tail[0][:200]}", facts=facts)
    parsed, problem = _parsed(str(p.get("parse", "none")), res.stdout)
    if problem and not res.dry_run:
        return StepOutcome(status="failed", message=f"parse: json: {problem}", facts=facts)
    if p.get("parse", "none") != "none":
        facts["parsed"] = parsed
    return StepOutcome(status="ok", facts=facts)
