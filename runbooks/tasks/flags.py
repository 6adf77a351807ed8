"""Flags that cannot surprise an operator.

* Invoke's core flags act on `c.run()`, which no runbooks task uses: `inv --dry rollback`
  would otherwise perform a REAL rollback. `--dry` means `--dry-run` for a task that has
  one and is refused elsewhere; `--echo`, `--warn-only`, `--hide`, `--pty`,
  `--command-timeout` and `--prompt-for-sudo-password` are refused: one line, exit 3,
  nothing run. The same under `inv` and the `runbooks` console script.
* No automatic short flags (Invoke would give `-r` to --transcript-dir on one task and to
  --reset-to on another). The only short flags are SHORT_FLAGS below: one meaning in every
  task, nothing destructive.

Imports only invoke and the standard library (`inv --list` stays fast).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from invoke import Context, Task
from invoke import task as invoke_task

CANNOT_RUN = 3

#: flag name (as in the signature) -> its one short form, the same in every task
SHORT_FLAGS = {"verbose": "v"}

#: Invoke core flags that do not apply: (flag, config section, key)
NOT_APPLICABLE = (
    ("--echo", "run", "echo"),
    ("--warn-only", "run", "warn"),
    ("--hide", "run", "hide"),
    ("--pty", "run", "pty"),
    ("--command-timeout", "timeouts", "command"),
    ("--prompt-for-sudo-password", "sudo", "password"),
)


def _get(c: Context, section: str, key: str) -> Any:
    try:
        return c.config[section][key]
    except (KeyError, AttributeError, TypeError):
        return None


def core_flag_problem(c: Context, params: list[str]) -> tuple[str | None, bool]:
    """(refusal message or None, dry) for the Invoke core flags this run was given."""
    for flag, section, key in NOT_APPLICABLE:
        if _get(c, section, key):
            return (f"{flag}: an Invoke flag for c.run(), which runbooks does not use; it has no meaning here. "
                    "Nothing was run."), False
    dry = bool(_get(c, "run", "dry"))
    if dry and "dry_run" not in params:
        return ("--dry: this task has no dry-run mode, so it is refused rather than run for real. "
                "Nothing was run."), True
    return None, dry


class RunbooksTask(Task):
    """An Invoke task with explicit short flags only and a guard on Invoke's core flags."""

    def __init__(self, body: Callable, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(body, *args, **kwargs)

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        if short and short not in taken_names:
            opts["names"] = [*opts["names"], short]
        return opts

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        c = args[0] if args else None
        if isinstance(c, Context):
            params = list(inspect.signature(self.body).parameters)
            problem, dry = core_flag_problem(c, params)
            if problem:
                _refuse(problem, bool(kwargs.get("json")))
            if dry:
                kwargs["dry_run"] = True
        return super().__call__(*args, **kwargs)


def _refuse(message: str, json_mode: bool) -> None:
    from invoke.exceptions import Exit

    if json_mode:
        import json
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        sys.stdout.write(json.dumps({"playbook": "", "target": "", "started_at": now, "finished_at": now,
                                     "verdict": "error", "exit_code": CANNOT_RUN, "simulated": False,
                                     "message": message, "findings": [], "metrics": {}, "steps": [],
                                     "transcript": None}) + "\n")
        sys.stdout.flush()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise Exit(code=CANNOT_RUN)


def task(*args: Any, **kwargs: Any) -> Any:
    """`invoke.task` with RunbooksTask."""
    kwargs.setdefault("klass", RunbooksTask)
    return invoke_task(*args, **kwargs)
