"""Active fault flags (``faults.json``), read at call time by the app code and the worker."""

from __future__ import annotations

import json
import os
from typing import Any

from runbooks.sandbox.fslock import locked
from runbooks.sandbox.paths import StatePaths


def load(paths: StatePaths) -> dict[str, Any]:
    try:
        return json.loads(paths.faults.read_text())
    except (FileNotFoundError, ValueError):
        return {"active": {}, "injected": []}


def save(paths: StatePaths, data: dict[str, Any]) -> None:
    tmp = paths.faults.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, paths.faults)


def is_active(paths: StatePaths, name: str) -> bool:
    return name in load(paths)["active"]


def set_flag(paths: StatePaths, name: str, value: Any = True) -> None:
    with locked(paths.lock):
        data = load(paths)
        data["active"][name] = value
        save(paths, data)


def consume(paths: StatePaths, name: str) -> bool:
    """Clear a one-shot flag; True if it was set."""
    with locked(paths.lock):
        data = load(paths)
        if name not in data["active"]:
            return False
        del data["active"][name]
        save(paths, data)
        return True


def record(paths: StatePaths, fault: str, evidence: dict[str, Any]) -> None:
    with locked(paths.lock):
        data = load(paths)
        data["injected"].append({"fault": fault, "evidence": evidence})
        save(paths, data)


def clear(paths: StatePaths) -> None:
    with locked(paths.lock):
        data = load(paths)
        data["active"] = {}
        save(paths, data)
