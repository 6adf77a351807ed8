"""Step kinds. Each module registers its kinds with `@step_kind` on import.

A kind's module is imported only when a playbook names it (`monitor.db` -> the monitor's
module), so `inv monitor.p0` does not pay for importing rollback and predeploy code.
"""

from __future__ import annotations

import importlib

# kind prefix -> the module that registers those kinds; unprefixed kinds are the engine's.
KIND_MODULES = {
    "shell": "runbooks.steps.shell",
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
