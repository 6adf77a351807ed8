"""Every command the rollback sends, built in one place: the steps yield these and the
plan renders the same values, so what the operator approves is what runs.

All values go through the command renderer, which shell-quotes each `{{ value }}`.
`v` is the run's variables (target config + the task's vars).
"""

from __future__ import annotations

import re
from typing import Any

from runbooks.blocks import compose
from runbooks.commands import Command
from runbooks.packs.eatfit24.rollback import lock

# docker inspect template (a value, so the renderer quotes it for the shell)
STATE_FMT = "{{.Name}}|{{.State.Status}}|{{.State.Running}}|{{.RestartCount}}|{{.State.ExitCode}}|{{.State.StartedAt}}"

# Does `git revert <commit>` apply cleanly on HEAD? Proven without touching the project's
# working tree or index: `git merge-tree --write-tree` (git >= 2.40: a merge of HEAD and
# commit^ on the base commit, in the object store only), else the revert in a temporary
# worktree that is removed afterwards. Exit 0 clean; else git's own output (CONFLICT lines).
REVERT_CHECK = r"""
rb_revert_check() {
  d=$1; c=$2
  git -C "$d" merge-tree --write-tree --messages --name-only --merge-base="$c" HEAD "$c^" 2>/dev/null; r=$?
  [ "$r" -le 1 ] && return "$r"
  t=$(mktemp -d "${TMPDIR:-/tmp}/runbooks-revert-check.XXXXXX") || return 2
  if ! git -C "$d" worktree add --quiet --detach "$t/w" HEAD >/dev/null 2>&1; then
    rm -rf "$t"; echo "cannot create a temporary git worktree to test the revert"; return 2
  fi
  git -C "$t/w" -c user.name=runbooks -c user.email=runbooks@localhost revert --no-edit --no-commit "$c" 2>&1; r=$?
  git -C "$d" worktree remove --force "$t/w" >/dev/null 2>&1; git -C "$d" worktree prune >/dev/null 2>&1
  rm -rf "$t"
  return "$r"
}
"""

PROBE = REVERT_CHECK + r"""
rb() { n=$1; shift; o=$("$@" 2>&1); c=$?; printf '@@rb %s %s\n%s\n' "$n" "$c" "$o"; }
rb project_dir test -d {{ d }}
rb commit git -C {{ d }} rev-parse --verify --quiet {{ commit_ref }}
rb subject git -C {{ d }} log -1 --format=%s {{ commit_ref }}
rb head git -C {{ d }} rev-parse HEAD
rb head_body git -C {{ d }} log -1 --format=%B HEAD
rb ancestor git -C {{ d }} merge-base --is-ancestor {{ commit_ref }} HEAD
rb dirty git -C {{ d }} status --porcelain --untracked-files=no
rb identity git -C {{ d }} config user.email
rb lock cat {{ owner_file }}
rb containers docker inspect --format {{ fmt }} {{ backend }} {{ worker }}
{% if reset_ref %}
rb reset git -C {{ d }} rev-parse --verify --quiet {{ reset_ref }}
rb reset_ancestor git -C {{ d }} merge-base --is-ancestor {{ reset_ref }} HEAD
rb reset_keeps git -C {{ d }} merge-base --is-ancestor {{ commit_ref }} {{ reset_ref }}
rb discarded git -C {{ d }} log --oneline {{ reset_range }}
{% else %}
rb revert_check rb_revert_check {{ d }} {{ commit_ref }}
{% endif %}
"""


def probe(v: dict[str, Any]) -> Command:
    reset = v.get("reset_to")
    return Command(template=PROBE, label="preflight probe (read-only)", timeout=60, vars={
        "d": v["project_dir"], "commit_ref": f"{v['commit']}^{{commit}}", "fmt": STATE_FMT,
        "backend": v["backend"], "worker": v["worker"], "owner_file": lock.lock_dir(v["project_dir"]) + "/owner",
        "reset_ref": f"{reset}^{{commit}}" if reset else "", "reset_range": f"{reset}..HEAD" if reset else "",
    })


def container_states(v: dict[str, Any]) -> Command:
    return Command(template="docker inspect --format {{ fmt }} {{ names }}", timeout=60,
                   vars={"fmt": STATE_FMT, "names": [v["backend"], v["worker"]]}, label="container states")


def worker_state(v: dict[str, Any]) -> Command:
    return Command(template="docker inspect --format {{ fmt }} {{ worker }}", timeout=60,
                   vars={"fmt": STATE_FMT, "worker": v["worker"]}, label="worker state")


def stop_worker(v: dict[str, Any]) -> Command:
    return compose.command(v["project_dir"], "stop", [v["compose_services"]["worker"]], timeout=180,
                           label="stop the worker service")


def start_worker(v: dict[str, Any]) -> Command:
    """Start the stopped worker container again (the code it was built from, unchanged)."""
    return compose.command(v["project_dir"], "start", [v["compose_services"]["worker"]], timeout=180,
                           label="start the worker service again")


def head(v: dict[str, Any]) -> Command:
    # %H, a NUL-free separator line, then the full message body
    return Command(template="git -C {{ d }} log -1 --format=%H%n--body--%n%B HEAD", timeout=30,
                   vars={"d": v["project_dir"]}, label="HEAD and its message")


def revert(v: dict[str, Any], full_sha: str, identity: tuple[str, str] | None) -> Command:
    tpl = ("git -C {{ d }}{% if name %} -c {{ 'user.name=' ~ name }} -c {{ 'user.email=' ~ email }}{% endif %}"
           " revert --no-edit {{ sha }}")
    name, email = identity or ("", "")
    return Command(template=tpl, mutates=True, timeout=120, label="git revert",
                   vars={"d": v["project_dir"], "sha": full_sha, "name": name, "email": email})


def revert_abort(v: dict[str, Any]) -> Command:
    return Command(template="git -C {{ d }} revert --abort", mutates=True, timeout=60,
                   vars={"d": v["project_dir"]}, label="abort the failed revert (restore the tree)")


def reset_hard(v: dict[str, Any], full_sha: str) -> Command:
    return Command(template="git -C {{ d }} reset --hard {{ sha }}", mutates=True, timeout=120,
                   vars={"d": v["project_dir"], "sha": full_sha}, label="git reset --hard")


def rebuild(v: dict[str, Any]) -> Command:
    svc = v["compose_services"]
    return compose.command(v["project_dir"], "up", [svc["backend"], svc["worker"]], build=True, recreate=True,
                           timeout=float(v.get("rebuild_timeout") or 1800), stream=True,
                           label="rebuild and recreate backend + worker")


WORKER_READY = ("i=0; while [ $i -lt {{ tries }} ]; do docker logs --tail 300 {{ worker }} 2>&1 | grep -q {{ pattern }} "
                "&& { echo 'RUNBOOKS_WORKER ready'; exit 0; }; i=$((i+1)); sleep 1; done; "
                "echo 'RUNBOOKS_WORKER not-ready'; exit 1")


def worker_ready(v: dict[str, Any]) -> Command:
    """Poll (on the host, with a deadline) the new worker's log for Celery's `ready.` line."""
    return Command(template=WORKER_READY, timeout=float(v.get("worker_ready_s") or 60) + 30,
                   vars={"worker": v["worker"], "pattern": r"celery@.* ready\.",
                         "tries": int(v.get("worker_ready_s") or 60)}, label="wait for the worker's ready line")


def worker_ping(v: dict[str, Any]) -> Command:
    """Ask the worker itself (a worker logging at WARNING never prints `ready.`): Celery's
    `inspect ping` through the broker, answered by the node only if it is up and consuming."""
    return Command(template="docker exec {{ worker }} celery -A config inspect ping --timeout {{ t }}", timeout=60,
                   vars={"worker": v["worker"], "t": 10}, label="ask the worker: celery inspect ping")


def pinged(stdout: str) -> bool:
    """Celery's ping answer: `->  celery@<host>: OK` then `pong`."""
    return bool(re.search(r"^->\s+celery@\S+: OK\s*$", stdout or "", re.M)) and "pong" in (stdout or "")


def identity_for(v: dict[str, Any]) -> tuple[str, str]:
    """Committer identity when the host's git has none: the operator, via runbooks."""
    return (f"{v.get('operator') or 'operator'} (runbooks rollback)",
            f"{v.get('operator') or 'operator'}@{v.get('client_host') or 'runbooks'}")


def parse_states(text: str) -> dict[str, dict[str, Any]]:
    """`docker inspect --format STATE_FMT` lines -> {name: {status, running, restarts, exit_code, started_at}}."""
    out: dict[str, dict[str, Any]] = {}
    for line in (text or "").splitlines():
        parts = line.strip().split("|")
        if len(parts) != 6:
            continue
        name, status, running, restarts, code, started = parts
        out[name.lstrip("/")] = {"status": status, "running": running == "true",
                                 "restarts": int(restarts) if restarts.isdigit() else restarts,
                                 "exit_code": int(code) if code.lstrip("-").isdigit() else code,
                                 "started_at": started}
    return out
