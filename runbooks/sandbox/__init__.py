"""The built-in sandbox: a simulated eatfit24 host (Django + SQLite, docker shim, container
logs, the meals API, a project git repo). Light to import: the docker shim imports this
package on every call, so the heavy parts load lazily."""

from __future__ import annotations

from typing import Any

__all__ = ["Sandbox", "SandboxConfig", "SandboxError", "builtin_target", "default_state_dir",
           "ensure_up", "export_init_data", "fault_descriptions"]


def fault_descriptions() -> dict[str, str]:
    from runbooks.sandbox.faultlist import FAULT_DESCRIPTIONS

    return dict(FAULT_DESCRIPTIONS)


def __getattr__(name: str) -> Any:
    if name in ("Sandbox", "SandboxError", "builtin_target", "ensure_up", "export_init_data"):
        from runbooks.sandbox import core

        return getattr(core, name)
    if name in ("SandboxConfig", "default_state_dir"):
        from runbooks.sandbox import paths

        return getattr(paths, name)
    raise AttributeError(name)
