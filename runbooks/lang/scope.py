"""What a step sees: the run's variables, its own, `--var` over both, and `steps` (every
earlier step's output). One object per run, fed by the engine after each step.

Every step of the playbook has an output from the start (status `not_run`), so a `when:`
over a step that was skipped, filtered out by --tags or before --start-at reads a status
instead of failing on a missing name; `steps.ask.answer | default('keep')` then works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runbooks.lang.expr import evaluate, render_text
from runbooks.lang.model import Step
from runbooks.lang.outputs import step_output
from runbooks.model import StepOutcome


class RunScope:
    def __init__(self, base: Mapping[str, Any], cli_vars: Mapping[str, Any], steps: Iterable[Step],
                 facts: dict[str, Any] | None = None) -> None:
        self.base = dict(base)  # the target's, the playbook's and --var (base_vars)
        self.cli = dict(cli_vars)  # --var: wins over a step's own vars too
        steps = list(steps)
        self.outputs: dict[str, dict[str, Any]] = {
            s.name: step_output(s.name, StepOutcome(status="skipped", message="not run"), status="not_run") for s in steps}
        self.registers = {s.register: s.name for s in steps if s.register}
        self.facts: dict[str, Any] = facts if facts is not None else {}  # the engine's: name -> StepOutcome.facts

    def for_step(self, step: Step) -> dict[str, Any]:
        registered = {reg: self.outputs[name] for reg, name in self.registers.items()}
        return {**self.base, **registered, **step.vars, **self.cli, "steps": self.outputs, "facts": self.facts}

    def record(self, name: str, output: dict[str, Any]) -> None:
        self.outputs[name] = output

    def runs(self, step: Step, scope: Mapping[str, Any]) -> bool:
        """The step's `when:` (raises on an expression that cannot be evaluated)."""
        return evaluate(step.when, scope) if step.when else True

    @staticmethod
    def describe(step: Step, scope: Mapping[str, Any]) -> str:
        """The description rendered; as written when it cannot be (it is only for people)."""
        return RunScope.text(step.description, scope)

    @staticmethod
    def text(template: str, scope: Mapping[str, Any]) -> str:
        """Text for people (a description, a confirmation's question) rendered over the
        scope; as written when it cannot be rendered: it never fails a step."""
        try:
            return render_text(template, scope)
        except Exception:  # noqa: BLE001
            return template
