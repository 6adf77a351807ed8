"""Step kinds. Each module registers its kinds with `@step_kind` on import.

A kind's module is imported only when a playbook names it (`monitor.gather` -> the monitor's
module), so `inv monitor.p0` does not pay for importing rollback and predeploy code.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbooks.config import Target

# kind prefix -> the module that registers those kinds; unprefixed kinds are the engine's.
KIND_MODULES = {
    "shell": "runbooks.steps.shell",
    "check": "runbooks.blocks.check",
    "prompt": "runbooks.blocks.prompt",
    "doctor": "runbooks.steps.doctor",
    "monitor": "runbooks.packs.eatfit24.monitor.steps",
    "rollback": "runbooks.packs.eatfit24.rollback.steps",
    "predeploy": "runbooks.packs.eatfit24.predeploy.steps",
    # generic building blocks (runbooks/blocks): logs.scan, django.query, http.check, ...
    "logs": "runbooks.blocks.logs_scan",
    "django": "runbooks.blocks.django_query",
    "http": "runbooks.blocks.http_check",
    "compose": "runbooks.blocks.compose",
    "git": "runbooks.blocks.git",
    "lock": "runbooks.blocks.lock",
}

# kind prefix -> the module whose `variables(target, kind)` checks what those kinds need of a
# target (a missing key: ConfigError naming it, before connecting) and returns the variables
# they read. The core knows no pack's target keys; a pack says what its own playbooks need.
KIND_TARGETS = {
    "doctor": "runbooks.steps.doctor",  # generic; asks the parts below that apply to the target
    **{p: "runbooks.packs.eatfit24.target" for p in ("monitor", "rollback", "predeploy")},
}

# the packs' parts of `doctor` (runbooks/steps/doctor.py): each module has `applies(target)`,
# `variables(target)` and `run(step, ctx, container_states)`; a part runs only on a target
# that has its pack's keys.
DOCTOR_PARTS = ("runbooks.packs.eatfit24.doctor",)

_imported: set[str] = set()


def _import(mod: str) -> None:
    if mod in _imported:
        return
    _imported.add(mod)
    try:
        importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        if not exc.name or not mod.startswith(exc.name):  # a real import error inside an existing module
            raise


def load_kind(kind: str) -> None:
    """Import the module that registers `kind` (by its prefix before the first dot)."""
    mod = KIND_MODULES.get(kind.split(".", 1)[0])
    if mod is not None:
        _import(mod)


def load_all() -> None:
    for mod in KIND_MODULES.values():
        _import(mod)


def target_variables(kinds: Iterable[str], target: "Target") -> dict[str, Any]:
    """The variables the packs behind these step kinds derive from the target (checked)."""
    out: dict[str, Any] = {}
    for prefix in dict.fromkeys(k.split(".", 1)[0] for k in kinds):
        mod = KIND_TARGETS.get(prefix)
        if mod is not None:
            out.update(importlib.import_module(mod).variables(target, prefix))
    return out
