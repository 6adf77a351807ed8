"""`inv rollback --commit <sha>`: the incident rollback (playbooks/rollback.yml).

Imports only invoke + stdlib at import time; the engine loads inside the task body.
"""

from __future__ import annotations

from runbooks.tasks.core import COMMON_HELP, finish
from runbooks.tasks.flags import task

HELP = {
    **COMMON_HELP,
    "target": "the ONE target to roll back (a group or comma list is refused); default as for every task",
    "commit": "SHA (7-40 hex digits) of the commit to roll back; it must exist on the host and be an ancestor of HEAD",
    "reset_to": "instead of `git revert`, `git reset --hard` to this SHA (7-40 hex; asks a separate typed confirmation)",
    "dry_run": "read-only preflight (the lock is not taken) and the full plan; nothing that mutates reaches the host",
    "yes": "answer every confirmation for the operator; the transcript records that --yes answered, and for whom",
    "start_at": "resume at this step after a failure (preflight's read-only checks and the lock always run first)",
    "cleanup": "also run the cleanup step: photos stuck in PROCESSING -> FAILED, their meals finalized (asks first)",
    "break_lock": "take over the rollback lock left by a dead run (asks first, naming the holder)",
    "verbose": COMMON_HELP["verbose"],
}


@task(help=HELP)
def rollback(c, commit=None, reset_to=None, target=None, dry_run=False, yes=False, start_at=None, cleanup=False,
             break_lock=False, json=False, transcript_dir=None, verbose=False):
    """Roll back one commit on a host during an incident: plan, confirm each step, resume, record."""
    import getpass
    import os
    import socket
    import uuid

    from runbooks.app import TaskSpec, _fail, run_task
    from runbooks.errors import RunbooksError
    from runbooks.invocation import resume_command
    from runbooks.lang.parse import load_playbook
    from runbooks.packs.eatfit24.monitor.sections import run_vars
    from runbooks.packs.eatfit24.rollback import inputs
    from runbooks.record.transcript import iso, utcnow

    spec = TaskSpec(task="rollback", playbook="rollback", target=target, json=json, transcript_dir=transcript_dir)
    try:
        sha = inputs.sha("--commit", commit)
        reset = inputs.sha("--reset-to", reset_to) if reset_to is not None else None
        tname = inputs.target(target)
        step = inputs.start_at(start_at, load_playbook("rollback").step_names())
    except RunbooksError as exc:
        finish(_fail(exc_out(json), spec, exc.message, exc.exit_code))
        return
    started = iso(utcnow())
    variables = {
        "commit": sha, "reset_to": reset, "cleanup": bool(cleanup), "break_lock": bool(break_lock), "start_at": step,
        "lock_token": uuid.uuid4().hex, "operator": getpass.getuser(), "client_host": socket.gethostname(),
        "client_pid": os.getpid(), "started_at": started,
        # a worker left stopped is offered a restart only when someone is there to answer
        "offer_restart": bool(not yes and not json and _stdin_is_tty()),
        # monitor P0 checks after the rollback, on what happened since it started
        **run_vars("monitor.p0", since=started),
    }
    finish(run_task(TaskSpec(
        task="rollback", playbook="rollback", target=tname, json=json, transcript_dir=transcript_dir, vars=variables,
        dry_run=dry_run, yes=yes, start_at=step, single_target=True,
        resume=resume_command("rollback", fallback=inputs.resume_command(sha, tname, reset, bool(cleanup))),
        # the lost run's lock may still be on the host: the resume takes it over (asks first)
        resume_unclean=resume_command("rollback", fallback=inputs.resume_command(sha, tname, reset, bool(cleanup)))
        .replace(" --start-at", " --break-lock --start-at"),
        verbose=verbose,
    )))


def _stdin_is_tty() -> bool:
    import sys

    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def exc_out(json_mode: bool):  # noqa: ANN201 - the engine's Out, imported lazily
    from runbooks.record.console import Out

    return Out(json_mode=json_mode)


tasks = [rollback]
