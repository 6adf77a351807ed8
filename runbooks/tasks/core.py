"""Shared flag help and the `doctor` task."""

from __future__ import annotations

from runbooks.tasks.flags import task

COMMON_HELP = {
    "target": "target, group or comma list from runbooks.yaml (default: $RUNBOOKS_TARGET, default_target, else the built-in sandbox)",
    "json": "print exactly one JSON document on stdout (human output goes to stderr)",
    "transcript_dir": "where run folders are written (default ./transcripts or $RUNBOOKS_TRANSCRIPTS)",
    "verbose": "-v: also show each command's last output lines on the console, all of a playbook shell step's "
               "(the transcript always has all of it)",
}


def parse_seconds(flag: str, value: object) -> float | None:
    """A flag holding a number of seconds (e.g. --duration 90): positive and finite, or None
    when not given; anything else is one line naming the flag (exit 3)."""
    import math

    from runbooks.errors import InputError

    if value is None or value == "":
        return None
    try:
        n = float(str(value).strip())
    except ValueError:
        raise InputError(f"{flag}: expected a number of seconds, got {value!r}") from None
    if not math.isfinite(n) or n <= 0:
        raise InputError(f"{flag}: expected a positive number of seconds, got {value!r}")
    return n


def finish(code: int) -> None:
    from runbooks.app import exit_with

    exit_with(code)


@task(help=COMMON_HELP)
def doctor(c, target=None, json=False, transcript_dir=None, verbose=False):
    """Can this target run the playbooks? SSH + verified host key, the host's tools, what it configures."""
    from runbooks.connectors import early
    from runbooks.packs.eatfit24.target import require

    early.start_for(target, transcript_dir, lambda t: require(t, project_dir=True))  # handshake while the rest loads
    from runbooks.app import TaskSpec, run_task

    finish(run_task(TaskSpec(task="doctor", playbook="doctor", target=target, json=json, transcript_dir=transcript_dir,
                             verbose=verbose)))


@task(
    help={
        **COMMON_HELP,
        "playbook": "playbook name in playbooks/ (e.g. doctor) or a path to a .yml file",
        "dry_run": "render and record every command; send nothing that mutates",
        "yes": "answer every confirmation for the operator (recorded as such in the transcript)",
        "start_at": "skip the steps before this one",
        "check_only": "validate the playbook (keys, kinds, expressions, includes, vars files) without a config or a "
                      "connection: exit 0 valid, 3 with file:line: key: why",
        "tags": "run only the steps with one of these tags (comma list); `always: true` steps still run",
        "skip_tags": "skip the steps with one of these tags (comma list), always-steps too",
        "var": "run variable NAME=VALUE for the playbook's templates (repeatable); values of names like "
               "*token*, *secret*, *password*, *key*, *init_data* are masked in every output and record",
    },
    iterable=["var"],
)
def play(c, playbook, target=None, dry_run=False, yes=False, start_at=None, var=None, json=False, transcript_dir=None,
         verbose=False, check_only=False, tags=None, skip_tags=None):
    """Run any playbook (by name or path) on a target: the engine without a dedicated task."""
    from pathlib import Path

    from runbooks.lang.plan import Selection
    from runbooks.lang.validate import check_only as validate_only

    selection = Selection.from_flags(tags, skip_tags)
    if check_only:
        finish(validate_only(playbook, selection, json_mode=json))
        return

    from runbooks.app import TaskSpec, run_task
    from runbooks.errors import InputError

    variables = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            from runbooks.app import _fail
            from runbooks.record.console import Out

            spec = TaskSpec(task=f"play.{Path(playbook).stem}", playbook=playbook, target=target, json=json)
            finish(_fail(Out(json_mode=json), spec, f"--var {item!r}: expected NAME=VALUE", InputError.exit_code))
            return
        variables[name] = value
    import shlex

    from runbooks.app import secret_vars
    from runbooks.invocation import resume_command

    fallback = (f"inv play --playbook {shlex.quote(playbook)}" + (f" --target {shlex.quote(target)}" if target else "")
                + " --start-at {step}").replace("{", "{{").replace("}", "}}").replace("{{step}}", "{step}")
    finish(run_task(TaskSpec(task=f"play.{Path(playbook).stem}", playbook=playbook, target=target, json=json,
                             transcript_dir=transcript_dir, vars=variables, dry_run=dry_run, yes=yes,
                             start_at=start_at, resume=resume_command("play", fallback=fallback), selection=selection,
                             secrets=secret_vars(variables), verbose=verbose)))
