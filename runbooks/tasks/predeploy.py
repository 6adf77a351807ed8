"""`inv predeploy`: the checklist's staging scenarios A, B and C, guided or driven, verified.

Imports only invoke + stdlib at import time (`inv --list` stays fast)."""

from __future__ import annotations

import sys

from runbooks.tasks.core import COMMON_HELP, finish
from runbooks.tasks.flags import task

HELP = {
    **COMMON_HELP,
    "target": "target to check (a staging-like host; role: prod is refused without --allow-prod)",
    "scenario": "run only these scenarios: A, B, C or a comma list (default: all three)",
    "yes": "answer the confirmation before driving the scenarios (recorded as --yes)",
    "drive": "perform the UI steps through the target's driver instead of waiting for an operator",
    "allow_prod": "allow a target whose config says role: prod (it creates and cancels test meals there)",
    "timeout": "seconds to wait for the operator and for each scenario's outcome (default 120)",
    "retries": "--drive: times a scenario is run again when the timing it needs did not happen (default 2); "
               "still INCONCLUSIVE after them: exit 3",
    "cleanup": "--drive: delete the test meals the run created, through the API, at the end",
}


@task(help=HELP)
def predeploy(c, target=None, scenario=None, yes=False, drive=False, allow_prod=False, timeout=None, json=False,
              transcript_dir=None, retries=None, cleanup=False, verbose=False):
    """Pre-deploy check: run staging scenarios A, B, C (operator or --drive) and verify logs, DB and diary."""
    from runbooks.app import TaskSpec, _fail, run_task
    from runbooks.errors import CANNOT_RUN, InputError
    from runbooks.packs.eatfit24.predeploy.driver import driver_name
    from runbooks.packs.eatfit24.predeploy.scenarios import parse_selection
    from runbooks.record.console import Out

    spec = TaskSpec(task="predeploy", playbook="predeploy", target=target, json=json, transcript_dir=transcript_dir,
                    verbose=verbose)
    try:
        scenarios = parse_selection(scenario)
        wait = float(timeout) if timeout not in (None, "") else 120.0
        if not 0 < wait <= 3600:
            raise ValueError
        tries = _retries(retries)
    except ValueError as exc:
        msg = str(exc) if str(exc).startswith("--") else f"--timeout: must be a number of seconds in (0, 3600], not {timeout!r}"
        finish(_fail(Out(json_mode=json), spec, msg, CANNOT_RUN))
        return
    interactive = _stdin_is_tty()

    def validate(t):
        if t.role == "prod" and not allow_prod:
            raise InputError(f"target {t.name} has role: prod; predeploy uploads and cancels test meals there. "
                             "Refusing without --allow-prod (nothing was run).")
        if drive and driver_name(t) is None:
            raise InputError(f"--drive: target {t.name} has no driver (set targets.{t.name}.predeploy.driver: sandbox or eatfit24, "
                             "or run without --drive and click through the UI)")
        if not drive and not interactive:
            raise InputError("operator mode waits for you to click through the UI, but stdin is not a terminal: "
                             "run it from a terminal, or pass --drive on a target with a driver (nothing was run)")

    spec.vars = {"scenarios": scenarios, "drive": bool(drive), "timeout": wait, "interactive": interactive,
                 "retries": tries, "cleanup": bool(cleanup)}
    spec.yes = yes
    spec.single_target = True
    spec.validate = validate
    spec.after = _after
    finish(run_task(spec))


def _retries(value) -> int:
    if value in (None, ""):
        return 2
    text = str(value).strip()
    if not text.isdigit() or int(text) > 10:
        raise ValueError(f"--retries: must be a whole number from 0 to 10, not {value!r}")
    return int(text)


def _after(result, target, out):
    from runbooks.packs.eatfit24.predeploy.summary import print_summary

    print_summary(result, target, out)


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


tasks = [predeploy]
