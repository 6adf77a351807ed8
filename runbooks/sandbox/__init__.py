"""The built-in sandbox: a simulated eatfit24 host (Django + SQLite, docker shim, container
logs, the meals API, a project git repo). Light to import: the docker shim imports this
package on every call, so the heavy parts load lazily.

It is an extra (`runbooks[sandbox]`): the core installs without Django, and `require()`
says how to add it when an operator asks for the sandbox without it."""

from __future__ import annotations

import importlib.util
from typing import Any

from runbooks.errors import ConfigError

__all__ = ["INSTALL_HINT", "Sandbox", "SandboxConfig", "SandboxError", "builtin_target", "default_state_dir",
           "ensure_up", "export_init_data", "fault_descriptions", "installed", "require"]

INSTALL_HINT = "pip install 'runbooks[sandbox]'"


def installed() -> bool:
    """Is the sandbox's one extra dependency (Django) importable?"""
    return importlib.util.find_spec("django") is not None


def require() -> None:
    """ConfigError (exit 3, one line) when the sandbox extra is not installed."""
    if not installed():
        raise ConfigError(f"the built-in sandbox is not installed (it needs Django): {INSTALL_HINT}; "
                          "or configure a target in runbooks.yaml")


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
