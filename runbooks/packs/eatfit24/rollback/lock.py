"""The rollback lock on the host: `<project_dir>/.runbooks-rollback.lock/owner`.

The generic host lock (runbooks/blocks/lock.py: `mkdir`, an owner file with one JSON line,
release only by the token's run) with the rollback's owner record: token, operator, client
host, pid, start time, commit, target. Released by an `always: true` step, so failure,
decline and Ctrl-C release it too; `--break-lock` removes someone else's lock after a
confirmation.
"""

from __future__ import annotations

from typing import Any

from runbooks.blocks import lock as host_lock
from runbooks.blocks.lock import HELD_EXIT, describe_holder, parse_holder
from runbooks.commands import Command

LOCK_NAME = "rollback"
__all__ = ["HELD_EXIT", "break_and_take", "describe_holder", "lock_dir", "owner_record",
           "parse_holder", "release", "take"]


def lock_dir(project_dir: str) -> str:
    return host_lock.lock_path(project_dir, LOCK_NAME)


def owner_record(v: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": v["lock_token"], "operator": v.get("operator"), "client_host": v.get("client_host"),
            "pid": v.get("client_pid"), "started_at": v.get("started_at"), "commit": v.get("commit"),
            "target": v.get("target")}


def take(v: dict[str, Any]) -> Command:
    return host_lock.take(lock_dir(v["project_dir"]), owner_record(v), label="take the rollback lock")


def break_and_take(v: dict[str, Any]) -> Command:
    return host_lock.break_and_take(lock_dir(v["project_dir"]), owner_record(v), label="break the rollback lock, take it")


def release(v: dict[str, Any], token: str) -> Command:
    return host_lock.release(lock_dir(v["project_dir"]), token, label="release the rollback lock")
