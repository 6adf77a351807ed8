"""What one run on one target will do, decided before anything runs.

`check_can_run` refuses, before anything runs, what could only half-run (exit 3) and
returns the `Plan`: the steps in the order the run loop takes them and the run's
variables, built once. The caller that checks (app.run_task) hands the plan to the run,
so the check happens once per run. Features that change *what* runs (tags, loops over
items, several targets in series) belong here, as transformations of the plan's list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbooks.errors import InputError
from runbooks.lang.expr import evaluate
from runbooks.lang.plan import prompts_without_answer, select
from runbooks.steps import target_variables

if TYPE_CHECKING:
    from runbooks.config import Target
    from runbooks.engine.options import RunOptions
    from runbooks.lang.model import Playbook
    from runbooks.steps.base import Step


@dataclass(frozen=True)
class Plan:
    """The steps of one run, in order, and the variables every step sees."""

    steps: tuple[Step, ...]
    variables: dict[str, Any]

    def position(self, step: Step) -> int:
        """1-based place of `step` in the plan ("[3/7]")."""
        return self.steps.index(step) + 1

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.steps]


def base_vars(target: Target, options: RunOptions, playbook: Playbook) -> dict[str, Any]:
    """The run's variables, later wins: the engine's, the target's (its playbook-facing keys
    and host variables), what the packs behind the playbook's step kinds derive from the
    target (ConfigError naming a key they need and it lacks), the playbook's, the run's."""
    v: dict[str, Any] = {
        "target": target.name,
        "role": target.role,
        "dry_run": options.dry_run,
        "transcript_dir": str(options.transcript_dir),
        "task": options.task or playbook.name,
    }
    v.update(target.variables())
    v.update(target_variables([s.kind for s in playbook.steps], target))
    v.update(playbook.vars)
    v.update(options.vars)
    return v


def steps_to_run(playbook: Playbook, options: RunOptions) -> list[Step]:
    """From --start-at on (`always: true` steps before it still run: read-only re-checks),
    then --tags / --skip-tags."""
    return select(playbook, options.start_at, options.selection)


def make_plan(playbook: Playbook, target: Target, options: RunOptions) -> Plan:
    return Plan(tuple(steps_to_run(playbook, options)), base_vars(target, options, playbook))


def check_can_run(playbook: Playbook, target: Target, options: RunOptions) -> Plan:
    """The run's plan; InputError (exit 3) when it needs confirmations nobody can give
    (no terminal, no --yes), before anything runs."""
    plan = make_plan(playbook, target, options)
    if options.dry_run or options.is_interactive():
        return plan
    prompts = prompts_without_answer(plan.steps, options.yes)
    if prompts:
        raise InputError(
            f"{options.task or playbook.name} waits for the operator (steps: {', '.join(prompts)}) but stdin is not a "
            "terminal" + (" and --yes has no default answer to give" if options.yes else "; run it from a terminal, "
                          "or pass --yes to give the steps' default answers") + ". Nothing was run.")
    if options.yes:
        return plan
    asking = []
    for s in plan.steps:
        if not s.confirm:
            continue
        try:
            if s.when and not evaluate(s.when, plan.variables):
                continue
        except Exception:  # depends on facts not known yet: assume it may ask
            pass
        asking.append(s.name)
    if asking:
        raise InputError(
            f"{options.task or playbook.name} needs confirmations (steps: {', '.join(asking)}) but stdin is not a "
            f"terminal; run it from a terminal, or pass --yes to answer for the operator (recorded as such). Nothing was run."
        )
    return plan
