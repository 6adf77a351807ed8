"""The remote commands of a scenario check, and parsing of their machine-readable output.

Two cheap commands per poll at most: a worker-log scan since the scenario's start, filtered
on the host (the generic log scan, runbooks/blocks/logscan.py), and one Django shell that
lists the test user's meals since the start.
The Django shell is the generic one (runbooks/blocks/djshell.py): the script on stdin, its
parameters as one JSON literal, one tagged result line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from runbooks.blocks import djshell
from runbooks.blocks.logscan import ScanSpec, container_command, parse_scan
from runbooks.commands import Command

TAG = "RUNBOOKS_PREDEPLOY "
# the worker lines a scenario is judged by, filtered on the host by the generic log scan
SCAN = ScanSpec(markers=(("finalized", "Finalized meal_id="), ("race_guard", "is in terminal state"),
                         ("late_success", "updated to SUCCESS with")))
TEMPLATE = (
    "{ docker logs --timestamps --since {{ since }} {{ container }} 2>&1; echo \"RUNBOOKS_EXIT $?\"; }"
    " | grep -E {{ ere }}"
)
TEMPLATE = "predeploy_meals.py.j2"
_STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)$")

FINALIZED = re.compile(r"\[MealService\] Finalized meal_id=(\d+) as (COMPLETE|FAILED)\b")
LATE_SUCCESS = re.compile(r"\[AI\] MealPhoto (\d+) updated to SUCCESS with (\d+) items")
RACE_GUARD = re.compile(r"\[AI\] Photo (\d+) is in terminal state (CANCELLED|FAILED), discarding results \(race condition guard\)")


@dataclass(frozen=True)
class UserRef:
    """The test user: by id (`predeploy.test_user_id`) or by username (`predeploy.test_username`)."""

    user_id: int | None = None
    username: str | None = None

    def __str__(self) -> str:
        return str(self.user_id) if self.user_id is not None else repr(self.username)


class RemoteError(Exception):
    """A command's output could not be used (message names the command and why)."""


@dataclass
class LogScan:
    lines: list[str] = field(default_factory=list)  # "2026-...Z <line>" as docker printed them

    def finalized(self, meal_id: int) -> list[str]:
        return [ln for ln in self.lines if (m := FINALIZED.search(ln)) and int(m.group(1)) == meal_id]

    def succeeded(self, photo_id: int) -> list[str]:
        return [ln for ln in self.lines if (m := LATE_SUCCESS.search(ln)) and int(m.group(1)) == photo_id]

    def race_guard(self, photo_id: int, state: str = "CANCELLED") -> list[str]:
        return [ln for ln in self.lines
                if (m := RACE_GUARD.search(ln)) and int(m.group(1)) == photo_id and m.group(2) == state]


def logs_command(container: str, since: str) -> Command:
    return container_command(container, SCAN, since=since, timeout=60,
                             label=f"docker logs {container} since the scenario start (filtered on host)")


def parse_logs(stdout: str, container: str) -> LogScan:
    scan = parse_scan(stdout)
    if scan.exit_code is None:
        raise RemoteError(f"docker logs {container}: no exit status came back (output cut short?)")
    if scan.exit_code != 0:
        said = f": {' | '.join(scan.errors)[:200]}" if scan.errors else ""
        raise RemoteError(f"docker logs {container} exited {scan.exit_code} (is the container name right?){said}")
    return LogScan([ln.text for ln in scan.lines if _STAMPED.match(ln.text)])


def render_script(user: UserRef, since_iso: str, limit: int = 10) -> str:
    """Parameters enter as ONE JSON string literal: no value is spliced into Python source."""
    params = {"user_id": user.user_id, "username": user.username, "since_iso": since_iso, "limit": int(limit)}
    return djshell.render_script(TEMPLATE, params)


def meals_command(container: str, user: UserRef, since_iso: str) -> Command:
    return djshell.command(render_script(user, since_iso), container=container, timeout=90,
                           label="django shell: the test user's meals since the scenario start (read-only)")


def parse_meals(stdout: str, stderr: str = "") -> dict[str, Any]:
    """The tagged line only (Django 5.2+ prints a banner first); RemoteError when absent/bad."""
    doc = djshell.parse(stdout, TAG)
    if doc is None:
        tail = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
        raise RemoteError(f"Django shell printed no {TAG.strip()} line (or not a JSON object): {tail[0][:200]}")
    if doc.get("error"):
        raise RemoteError(f"Django shell query failed: {doc['error']}")
    return doc
