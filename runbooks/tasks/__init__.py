"""The Invoke namespace, shared by `inv` (tasks.py) and the `runbooks` console script.

Task modules import only invoke and the standard library at import time: `inv --list`
must stay fast, so the engine (fabric, paramiko, rich, django) loads inside task bodies.
"""

from __future__ import annotations

import importlib

from invoke import Collection

from runbooks.tasks import core

ns = Collection()
ns.add_task(core.doctor)
ns.add_task(core.play)

# Optional task modules: each defines `tasks` (a list of @task functions for the root) and/or
# `collection` (a Collection mounted under its name).
for _mod in ("monitor", "rollback", "predeploy", "report", "sandbox", "transcripts", "alerts"):
    try:
        m = importlib.import_module(f"{__name__}.{_mod}")
    except ModuleNotFoundError as exc:
        if not exc.name or not f"{__name__}.{_mod}".startswith(exc.name):
            raise
        continue
    for t in getattr(m, "tasks", []):
        ns.add_task(t)
    sub = getattr(m, "collection", None) or getattr(m, "ns", None)
    if sub is not None:
        ns.add_collection(sub)
