"""The fault registry: name -> (description, injector). `@fault(name)` registers an
injector; faults.py and realfaults.py hold them, faults.inject runs one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runbooks.sandbox.faultlist import FAULT_DESCRIPTIONS

Injector = Callable[..., dict[str, Any]]  # (ctx, now, **params) -> evidence
FAULTS: dict[str, tuple[str, Injector]] = {}


def fault(name: str) -> Callable[[Injector], Injector]:
    def register(fn: Injector) -> Injector:
        FAULTS[name] = (FAULT_DESCRIPTIONS[name], fn)
        return fn
    return register
