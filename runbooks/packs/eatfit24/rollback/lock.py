"""The rollback lock on the host: `<project_dir>/.runbooks-rollback.lock/owner`.

Taken with `mkdir` (atomic on every filesystem: exactly one of two concurrent runs
creates the directory); the `owner` file inside holds one JSON line: token, operator,
client host, pid, start time, commit, target. Released only by the run whose token is in
the owner file (`always: true` step, so failure, decline and Ctrl-C release it too);
`--break-lock` removes someone else's lock after a confirmation.
"""

from __future__ import annotations

import json
from typing import Any

from runbooks.commands import Command

LOCK_DIRNAME = ".runbooks-rollback.lock"
HELD_EXIT = 75  # EX_TEMPFAIL: somebody else holds it


def lock_dir(project_dir: str) -> str:
    return f"{project_dir.rstrip('/')}/{LOCK_DIRNAME}"


def owner_record(v: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": v["lock_token"], "operator": v.get("operator"), "client_host": v.get("client_host"),
            "pid": v.get("client_pid"), "started_at": v.get("started_at"), "commit": v.get("commit"),
            "target": v.get("target")}


def _vars(v: dict[str, Any]) -> dict[str, Any]:
    d = lock_dir(v["project_dir"])
    return {"lock": d, "owner_file": f"{d}/owner", "owner": json.dumps(owner_record(v), sort_keys=True)}


TAKE = ("if mkdir {{ lock }} 2>/dev/null; then printf '%s\\n' {{ owner }} > {{ owner_file }} && echo 'RUNBOOKS_LOCK taken'; "
        "else echo 'RUNBOOKS_LOCK held'; cat {{ owner_file }} 2>/dev/null; exit " + str(HELD_EXIT) + "; fi")
BREAK = ("rm -f {{ owner_file }}; rmdir {{ lock }} 2>/dev/null; " + TAKE)
RELEASE = ("if grep -qF {{ token }} {{ owner_file }} 2>/dev/null; then rm -f {{ owner_file }} && rmdir {{ lock }} "
           "&& echo 'RUNBOOKS_LOCK released'; else echo 'RUNBOOKS_LOCK not-ours'; cat {{ owner_file }} 2>/dev/null; exit 3; fi")


def take(v: dict[str, Any]) -> Command:
    return Command(template=TAKE, vars=_vars(v), mutates=True, timeout=30, label="take the rollback lock")


def break_and_take(v: dict[str, Any]) -> Command:
    return Command(template=BREAK, vars=_vars(v), mutates=True, timeout=30, label="break the rollback lock, take it")


def release(v: dict[str, Any], token: str) -> Command:
    return Command(template=RELEASE, vars={**_vars(v), "token": token}, mutates=True, timeout=30,
                   label="release the rollback lock")


def parse_holder(text: str) -> dict[str, Any] | None:
    """The owner JSON from `cat owner` output (None: unreadable, e.g. lock being created)."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    return None


def describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "an unknown holder (owner file missing or unreadable: a run may be creating it right now)"
    return (f"{holder.get('operator')}@{holder.get('client_host')} pid {holder.get('pid')} since "
            f"{holder.get('started_at')} (commit {holder.get('commit')}, target {holder.get('target')})")
