"""How the operator invoked us, so the commands we suggest are the ones they can paste:
the same program (`runbooks` or `inv`), the same core flags, every flag and --var kept."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence


def program_name(argv: Sequence[str] | None = None) -> str:
    """`runbooks` for the console script; `inv` for inv, invoke and `python -m invoke`."""
    argv = sys.argv if argv is None else argv
    name = os.path.basename(argv[0]) if argv else ""
    return "runbooks" if name.startswith("runbooks") else "inv"


def _task_index(args: list[str], task: str) -> int | None:
    names = {task, task.replace("_", "-")}
    for i, a in enumerate(args):
        if a in names:
            return i
    return None


def resume_command(task: str, argv: Sequence[str] | None = None, fallback: str | None = None) -> str:
    """The operator's own command with `--start-at {step}` (a format placeholder) instead of
    any --start-at it had: the same program, core flags, flags and --var values. Braces in
    the arguments are escaped for str.format. `fallback` (already a template) when `task`
    is not in argv (called as a library)."""
    argv = list(sys.argv if argv is None else argv)
    args = argv[1:]
    at = _task_index(args, task)
    if at is None:
        if fallback is not None:
            return fallback
        args, at = [task], 0
    head, rest = args[:at], args[at + 1:]
    kept: list[str] = []
    skip = False
    for a in rest:
        if skip:
            skip = False
            continue
        if a == "--start-at":
            skip = True
            continue
        if a.startswith("--start-at="):
            continue
        kept.append(a)
    words = [program_name(argv), *head, args[at], *kept]
    line = " ".join(shlex.quote(w) for w in words).replace("{", "{{").replace("}", "}}")
    return line + " --start-at {step}"
