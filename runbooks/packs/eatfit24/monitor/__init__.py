"""The monitor: the checklist's Production Monitoring sections 1-6 as one fact-gathering
pass (one filtered `docker logs` per container, one Django shell, the API) and local checks.

Modules: window (the --since value), gather (remote commands), parse (facts from their
output), thresholds (the one place for threshold defaults), check (a check: one record and
one function) with the checks in checks_db, checks_logs, checks_rate and anomaly (+ history:
baselines from earlier runs), catalog (the registry: every check in order), sections (task
-> run vars, derived from the registry), rules (evaluate the selected checks), facts
(reading the gathered facts), prometheus (textfile), steps (the step kinds), watch (live
follow), schedule (`--every/--for`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SECTIONS", "TASKS", "run_vars"]


def __getattr__(name: str) -> Any:
    """`SECTIONS`, `TASKS` and `run_vars` load the registry (every check, Jinja2) when first
    asked for, not when a submodule is: `monitor.window` checks the flags before the task
    starts the SSH handshake, and the registry loads while the handshake runs."""
    if name in __all__:
        from runbooks.packs.eatfit24.monitor import sections

        return getattr(sections, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
