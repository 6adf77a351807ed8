"""`lock`: a lock on the host, so two operators never run the same change at once.

    - name: lock
      kind: lock
      mutates: true
      params: {action: take, name: cleanup}      # <project_dir>/.runbooks-cleanup.lock
    - name: unlock
      kind: lock
      mutates: true
      always: true                               # released after a failure or Ctrl-C too
      params: {action: release, name: cleanup}

A lock is a directory taken with `mkdir` (atomic on every filesystem: exactly one of two
concurrent runs creates it); its `owner` file holds one JSON line (token, operator, client
host, pid, start time, target). Only the run whose token is in the owner file releases it;
`action: break` removes someone else's lock (confirm it) and takes it. `dir:` puts the lock
somewhere else than the target's project_dir. Facts: {"path", "token", "held_by"}; a
lock already held fails the step, naming its holder.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import secrets
import socket
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from runbooks.commands import Command
from runbooks.model import Result, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

HELD_EXIT = 75  # EX_TEMPFAIL: somebody else holds it
TAKE = ("if mkdir {{ lock }} 2>/dev/null; then printf '%s\\n' {{ owner }} > {{ owner_file }} && echo 'RUNBOOKS_LOCK taken'; "
        "else echo 'RUNBOOKS_LOCK held'; cat {{ owner_file }} 2>/dev/null; exit " + str(HELD_EXIT) + "; fi")
BREAK = ("rm -f {{ owner_file }}; rmdir {{ lock }} 2>/dev/null; " + TAKE)
RELEASE = ("if grep -qF {{ token }} {{ owner_file }} 2>/dev/null; then rm -f {{ owner_file }} && rmdir {{ lock }} "
           "&& echo 'RUNBOOKS_LOCK released'; else echo 'RUNBOOKS_LOCK not-ours'; cat {{ owner_file }} 2>/dev/null; exit 3; fi")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def lock_path(base_dir: str, name: str) -> str:
    return f"{base_dir.rstrip('/')}/.runbooks-{name}.lock"


def _vars(path: str, owner: Mapping[str, Any] | None = None) -> dict[str, Any]:
    v: dict[str, Any] = {"lock": path, "owner_file": f"{path}/owner"}
    if owner is not None:
        v["owner"] = json.dumps(dict(owner), sort_keys=True)
    return v


def take(path: str, owner: Mapping[str, Any], label: str = "take the lock") -> Command:
    return Command(template=TAKE, vars=_vars(path, owner), mutates=True, timeout=30, label=label)


def break_and_take(path: str, owner: Mapping[str, Any], label: str = "break the lock, take it") -> Command:
    return Command(template=BREAK, vars=_vars(path, owner), mutates=True, timeout=30, label=label)


def release(path: str, token: str, label: str = "release the lock") -> Command:
    return Command(template=RELEASE, vars={**_vars(path), "token": token}, mutates=True, timeout=30, label=label)


def taken(res: Result) -> bool:
    return res.exit_code == 0 and "RUNBOOKS_LOCK taken" in res.stdout


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


def describe_holder(holder: Mapping[str, Any] | None) -> str:
    if not holder:
        return "an unknown holder (owner file missing or unreadable: a run may be creating it right now)"
    return (f"{holder.get('operator')}@{holder.get('client_host')} pid {holder.get('pid')} since "
            f"{holder.get('started_at')} (commit {holder.get('commit')}, target {holder.get('target')})")


# --- the step kind ---------------------------------------------------------------------

def _validate(params: Mapping[str, Any]) -> None:
    if params.get("action") not in ("take", "release", "break"):
        raise ValueError("action: required, one of take, release, break")
    name = params.get("name", "playbook")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError("name: lowercase letters, digits, - and _ (at most 64)")
    d = params.get("dir")
    if d is not None and (not isinstance(d, str) or not d.startswith("/")):
        raise ValueError("dir: must be an absolute path")


def _owner(token: str, ctx: StepContext) -> dict[str, Any]:
    return {"run_id": token, "operator": getpass.getuser(), "client_host": socket.gethostname(), "pid": os.getpid(),
            "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": None,
            "target": ctx.target.name, "playbook": ctx.playbook}


def _our_token(path: str, ctx: StepContext) -> str | None:
    """The token an earlier step of this run took `path` with."""
    for facts in reversed(list(ctx.facts.values())):
        if isinstance(facts, Mapping) and facts.get("path") == path and facts.get("token"):
            return str(facts["token"])
    return None


def _changes(params: Mapping[str, Any]) -> str | None:
    return f"lock {params.get('action')}"  # a lock directory is written on the host


@step_kind("lock", _validate, mutates=_changes)
def lock(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    base = str(p.get("dir") or ctx.target.project_dir)
    if not base:
        return StepOutcome(status="failed", message=f"dir: the target {ctx.target.name} has no project_dir",
                           cannot_run=True)
    path = lock_path(base, str(p.get("name", "playbook")))
    action = str(p["action"])
    if action == "release":
        token = _our_token(path, ctx)
        if token is None:
            return StepOutcome(status="skipped", message=f"this run holds no lock {path}")
        res = yield release(path, token)
        assert isinstance(res, Result)
        if res.exit_code == 0 or res.dry_run:
            return StepOutcome(status="ok", message=f"lock released: {path}", facts={"path": path, "released": True})
        return StepOutcome(status="failed", message=f"lock {path} not released (exit {res.exit_code}): now held by "
                           f"{describe_holder(parse_holder(res.stdout))}", facts={"path": path})
    token = secrets.token_hex(8)
    owner = _owner(token, ctx)
    res = yield (break_and_take if action == "break" else take)(path, owner)
    assert isinstance(res, Result)
    if res.dry_run:
        return StepOutcome(status="ok", message=f"dry-run: the lock {path} is not taken", facts={"path": path})
    if not taken(res):
        holder = parse_holder(res.stdout)
        why = (f"the lock {path} is held by {describe_holder(holder)}" if res.exit_code == HELD_EXIT
               else f"could not take the lock {path} (exit {res.exit_code}): {(res.stderr or res.stdout).strip()[-200:]}")
        return StepOutcome(status="failed", message=why, facts={"path": path, "held_by": holder})
    return StepOutcome(status="ok", message=f"lock taken: {path}", facts={"path": path, "token": token, "owner": owner})
