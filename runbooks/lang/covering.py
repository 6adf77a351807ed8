"""One confirmation for a whole `loop:` or `until:` step, asked before its first item.

A step with `confirm:` that loops over items (or retries until a condition holds) asks
the operator once, showing every item as it will run (a shell step: its command,
rendered and masked; another kind: its description, or the item), and says how many
times it may run ("3 items", "up to 4 attempts, until ..."). The answer covers every
item and attempt of this step; declining runs none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbooks.commands import Command
from runbooks.lang.control import attempts_of, loop_items
from runbooks.lang.expr import render_text
from runbooks.lang.scope import RunScope

if TYPE_CHECKING:
    from runbooks.lang.model import Step
    from runbooks.record.redact import Redactor


@dataclass(frozen=True)
class Covering:
    """What the operator confirms once: the question, one line per item, and how many runs."""

    question: str
    lines: tuple[str, ...]  # "$ rm -r /srv/a" (a shell step) or the item's description
    covers: str  # "3 items" | "up to 4 attempts, until ..." | "2 items, each up to 4 attempts, until ..."


def covering(step: Step, scope: Mapping[str, Any], target: str, redactor: Redactor) -> Covering | None:
    """The one confirmation for a confirmed loop/until step, or None: not such a step, no
    items, or a loop list/retries it cannot compute (the step then fails with why, before
    anything runs)."""
    if not step.confirm or (step.loop is None and step.until is None):
        return None
    try:
        items = loop_items(step, scope) if step.loop is not None else None
        attempts = attempts_of(step, scope) if step.until is not None else None
    except Exception:  # noqa: BLE001 - run_controlled fails the step and says why
        return None
    if items == []:
        return None
    scopes = [dict(scope)] if items is None else [{**scope, step.loop_var: item} for item in items]
    parts = [f"{len(items)} item(s)"] if items is not None else []
    if attempts is not None:
        parts.append(("each " if parts else "") + f"up to {attempts} attempt(s), until {step.until}")
    covers = ", ".join(parts)
    try:  # the question itself, when it does not name the item
        question = render_text(step.confirm_text, scope) if step.confirm_text else ""
        per_item = False
    except Exception:  # noqa: BLE001 - it names the loop variable: asked per line instead
        question, per_item = "", True
    question = question or (f"Run step {step.name} on {target}" + ("" if step.mutates else " (read-only)"))
    lines = []
    for s in scopes:
        line = _line(step, s, redactor)
        lines.append(f"{RunScope.text(step.confirm_text, s)}: {line}" if per_item else line)
    return Covering(question=f"{question} [{covers}]", lines=tuple(redactor.text(x) for x in lines), covers=covers)


def _line(step: Step, scope: Mapping[str, Any], redactor: Redactor) -> str:
    item = f"{step.loop_var}={scope[step.loop_var]!r}" if step.loop is not None else ""
    if step.kind == "shell":
        params = step.params
        try:
            command = Command(template=str(params["command"]), vars={**scope, **params.get("vars", {})})
            return "$ " + command.display(redactor.secrets)
        except Exception as exc:  # noqa: BLE001 - this item will fail the step; say so now
            return f"{item}: the command cannot be rendered ({exc})"
    if step.description:
        return RunScope.describe(step, scope) + (f" ({item})" if item else "")
    return f"{step.kind} {item}".strip()
