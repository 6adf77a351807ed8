"""Shared flag help and the `doctor` task."""

from __future__ import annotations

from invoke import task

COMMON_HELP = {
    "target": "target, group or comma list from runbooks.yaml (default: $RUNBOOKS_TARGET, default_target, else the built-in sandbox)",
    "json": "print exactly one JSON document on stdout (human output goes to stderr)",
    "transcript_dir": "where run folders are written (default ./transcripts or $RUNBOOKS_TRANSCRIPTS)",
}


def finish(code: int) -> None:
    from ..app import exit_with

    exit_with(code)


@task(help=COMMON_HELP)
def doctor(c, target=None, json=False, transcript_dir=None):
    """Check a target: SSH + verified host key, docker, containers, project repo, Django shell."""
    from ..app import TaskSpec, run_task

    finish(run_task(TaskSpec(task="doctor", playbook="doctor", target=target, json=json, transcript_dir=transcript_dir)))
