"""`prompt`: ask the operator the runbook's own question; the answer is `steps.<name>.answer`.

    - name: ask
      kind: prompt
      params:
        text: "{{ steps.list.stdout | lines | length }} files would be deleted. Delete them?"
        choices: [delete, keep]    # the answer must be one of these (case-insensitive)
        default: keep              # what --yes (and a timeout) answers
        timeout: 600               # seconds; no answer and no default: the step fails

Later steps branch on it: `when: steps.ask.answer == 'delete'`. `q` aborts the run (exit
4) unless it is one of the choices. Without a terminal, --yes answers the default; with no
default the run is refused before it starts (a prompt cannot be half-answered).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.lang.expr import check_syntax, render_text
from runbooks.model import Note, Prompt, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

PARAMS = ("text", "choices", "default", "timeout")
MAX_ASKS = 3


SCHEMA = {
    "type": "object", "required": ["text"], "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "description": "the question (a template)"},
        "choices": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                    "description": "the answers accepted (case-insensitive)"},
        "default": {"type": "string", "description": "the answer of --yes and of a timeout"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "description": "seconds to wait for an answer"},
    },
}


def _validate(params: Mapping[str, Any]) -> None:
    for key in params:
        if key not in PARAMS:
            raise ValueError(f"{key}: unknown parameter (allowed: {', '.join(PARAMS)})")
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text: required, the question to ask")
    try:
        check_syntax(text, expression=False)
    except ValueError as exc:
        raise ValueError(f"text: {exc}") from None
    choices = params.get("choices")
    if choices is not None:
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c.strip() for c in choices):
            raise ValueError("choices: a non-empty list of answers")
        if len({c.lower() for c in choices}) != len(choices):
            raise ValueError("choices: the same answer twice")
    default = params.get("default")
    if default is not None:
        if not isinstance(default, str):
            raise ValueError("default: must be a string")
        if choices is not None and default.lower() not in {c.lower() for c in choices}:
            raise ValueError(f"default: {default!r} is not one of the choices")
    t = params.get("timeout")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0):
        raise ValueError("timeout: a positive number of seconds")


@step_kind("prompt", _validate, schema=SCHEMA)
def prompt(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    text = render_text(p["text"], ctx.scope())
    choices: list[str] = list(p.get("choices") or [])
    if choices:
        text = f"{text} [{'/'.join(choices)}]"
    default = p.get("default")
    abort_on = tuple(a for a in ("q",) if a not in {c.lower() for c in choices})
    for _ in range(MAX_ASKS):
        answer = yield Prompt(text, timeout=p.get("timeout"), abort_on=abort_on, default=default)
        if answer is None or (answer == "" and default is not None):
            if default is None:
                return StepOutcome(status="failed", message="no answer (timed out) and no default",
                                   facts={"answer": None})
            answer = default
        if ctx.dry_run or not choices:
            return StepOutcome(status="ok", message=f"answered {answer!r}", facts={"answer": answer})
        match = [c for c in choices if c.lower() == answer.strip().lower()]
        if match:
            return StepOutcome(status="ok", message=f"answered {match[0]!r}", facts={"answer": match[0]})
        yield Note(f"{answer!r} is not one of: {', '.join(choices)}", "warn")
    return StepOutcome(status="failed", message=f"no valid answer after {MAX_ASKS} tries (one of: {', '.join(choices)})")
