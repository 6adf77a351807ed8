"""Validation of the rollback's flags, done in the task layer before anything connects.

A SHA is 7-40 hex digits and nothing else: it reaches git on the host (quoted anyway), and a
value that is not a SHA is a mistake under stress, so it is refused with one line, exit 3.
"""

from __future__ import annotations

import re
import shlex

from runbooks.errors import InputError

SHA_RE = re.compile(r"[0-9a-fA-F]{7,40}")  # fullmatch: `$` would accept a trailing newline
TARGET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,-]{0,200}")
STEPS = ("preflight", "stop-worker", "check-affected", "git-revert", "rebuild", "cleanup", "verify")


def sha(flag: str, value: object) -> str:
    if value is None or value == "":
        raise InputError(f"{flag} is required: the SHA (7-40 hex digits) of the commit to roll back, "
                         f"e.g. from `git log --oneline` in the project dir; nothing was run")
    if not isinstance(value, str) or not SHA_RE.fullmatch(value):
        raise InputError(f"{flag}: expected a commit SHA (7-40 hex digits), got {value!r}; nothing was run")
    return value.lower()


def target(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not TARGET_RE.fullmatch(value):
        raise InputError(f"--target: not a target name: {value!r}; nothing was run")
    return value


def start_at(value: object, step_names: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in step_names:
        raise InputError(f"--start-at: unknown step {value!r} (steps: {', '.join(step_names)}); nothing was run")
    return value


def resume_command(commit: str, target_name: str | None, reset_to: str | None, cleanup: bool) -> str:
    """The exact command to resume; `{step}` is filled in by the runner."""
    parts = ["inv rollback", f"--commit {commit}"]
    if target_name:
        parts.append(f"--target {shlex.quote(target_name)}")
    if reset_to:
        parts.append(f"--reset-to {reset_to}")
    if cleanup:
        parts.append("--cleanup")
    return " ".join(parts) + " --start-at {step}"
