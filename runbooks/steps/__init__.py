"""Step kinds. Each module registers its kinds with `@step_kind` on import."""

from __future__ import annotations

import importlib

# Modules that register step kinds; a playbook may name any kind registered here.
KIND_MODULES = (
    "runbooks.steps.shell",
    "runbooks.steps.doctor",
    "runbooks.monitor.steps",
    "runbooks.rollback.steps",
    "runbooks.predeploy.steps",
)

_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in KIND_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if not exc.name or not mod.startswith(exc.name):  # a real import error inside an existing module
                raise
