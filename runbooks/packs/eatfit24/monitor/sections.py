"""Task name -> run vars: which checks run and which facts they need, derived from the
check registry (catalog.py).

The task layer stays thin: `inv monitor.stuck --since 6h` calls
`run_vars("monitor.stuck", since="6h", tail=None)` and hands the result to the runner as
the run's vars. The playbook's gather steps are gated on `needs` (`when: "'db' in needs"`),
so a section task gathers only the facts its checks use; the evaluate step runs `checks`.
"""

from __future__ import annotations

from typing import Any

from runbooks.errors import InputError
from runbooks.packs.eatfit24.monitor.catalog import CHECKS
from runbooks.packs.eatfit24.monitor.check import Check
from runbooks.packs.eatfit24.monitor.window import parse_since, parse_tail

# the checklist's sections -> the task that runs them (`inv monitor.<task>`): Production
# Monitoring 1-6, and the grep cheatsheet's errors
TASK_OF_SECTION = {"1": "race-guard", "2": "finalization", "3": "stuck", "4": "api", "5": "api",
                   "6": "cancel-events", "Cheatsheet": "errors"}
FACTS = ("worker_logs", "backend_logs", "db", "api")


def _tasks(c: Check) -> tuple[str, ...]:
    return (TASK_OF_SECTION[c.section.split(".")[0].split(":")[0]], *c.also)


# check id -> the facts it is evaluated from
NEEDS: dict[str, tuple[str, ...]] = {c.id: c.needs for c in CHECKS}
# task section -> its checks, in catalog order; `all`: every check; `p0`: every P0 check
SECTIONS: dict[str, tuple[str, ...]] = {t: tuple(c.id for c in CHECKS if t in _tasks(c))
                                        for t in dict.fromkeys(TASK_OF_SECTION.values())}
SECTIONS["all"] = tuple(NEEDS)
SECTIONS["p0"] = tuple(c.id for c in CHECKS if c.severity == "P0")

TASKS = tuple(f"monitor.{s}" for s in SECTIONS)


def section_of(task: str) -> str:
    name = task.removeprefix("monitor.").replace("_", "-")
    if name not in SECTIONS:
        raise InputError(f"unknown monitor task {task!r} (known: {', '.join(TASKS)})")
    return name


def needs_for(checks: tuple[str, ...] | list[str]) -> list[str]:
    wanted = {n for c in checks for n in NEEDS[c]}
    return [n for n in FACTS if n in wanted]


def run_vars(task: str, since: object = "24h", tail: object = None) -> dict[str, Any]:
    """Validated run vars for a monitor task; InputError before anything runs."""
    section = section_of(task)
    window = parse_since(since if since is not None else "24h")
    checks = list(SECTIONS[section])
    return {
        "section": section,
        "checks": checks,
        "needs": needs_for(checks),
        "since": window.raw,
        "tail": parse_tail(tail),
    }
