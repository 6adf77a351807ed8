"""The live worker's broker: one JSON file per task in ``<state>/queue``; claiming is an
atomic rename, revoking is a marker file (like Celery's revoke, it drops tasks not yet
started and leaves running ones alone). Like Celery's, a revoke is a broadcast to the workers
up at that moment (kept in their memory): sent while the worker container is down, it is
lost, and the task runs when the worker is back."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from runbooks.sandbox.paths import StatePaths


def _dirs(paths: StatePaths) -> tuple[Path, Path, Path]:
    q = paths.queue
    dirs = (q / "pending", q / "claimed", q / "revoked")
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def enqueue(paths: StatePaths, task: dict[str, Any]) -> None:
    pending, _, _ = _dirs(paths)
    tmp = pending / f".{task['task_id']}.tmp"
    tmp.write_text(json.dumps(task))
    os.replace(tmp, pending / f"{time.time_ns()}-{task['task_id']}.json")


def revoke(paths: StatePaths, task_id: str) -> bool:
    """True if a running worker received it."""
    from runbooks.sandbox import containers

    if not containers.is_running(paths, paths.load_config().worker_container):
        return False
    _, _, revoked = _dirs(paths)
    (revoked / task_id).touch()
    return True


def is_revoked(paths: StatePaths, task_id: str) -> bool:
    return (paths.queue / "revoked" / task_id).exists()


def claim(paths: StatePaths) -> dict[str, Any] | None:
    pending, claimed, _ = _dirs(paths)
    for name in sorted(n for n in os.listdir(pending) if n.endswith(".json")):
        try:
            os.rename(pending / name, claimed / name)
        except FileNotFoundError:
            continue  # another worker thread took it
        return json.loads((claimed / name).read_text())
    return None


def pending_count(paths: StatePaths) -> int:
    pending, _, _ = _dirs(paths)
    return sum(1 for n in os.listdir(pending) if n.endswith(".json"))
