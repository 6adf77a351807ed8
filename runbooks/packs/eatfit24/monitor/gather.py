"""The remote commands of a monitor run: one log scan per container, one Django shell.

The log scan is the generic on-host filter (runbooks/blocks/logscan.py) with eatfit24's
marker and exception patterns: markers pass alone, while an exception line
(`Traceback|Error|Exception|ERROR|CRITICAL|Failed to `) also passes the 5 lines before it
and the 5 after it (the checklist's `grep -B 5 -A 5`), all filtered on the host by one
POSIX awk pass, so only those lines cross the network.

The Django shell is the generic one (runbooks/blocks/djshell.py): the script on stdin,
its parameters as one JSON literal, one tagged result line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from runbooks.blocks import djshell
from runbooks.blocks.logscan import ScanSpec, container_command
from runbooks.commands import Command, cmd
from runbooks.packs.eatfit24.monitor.window import Window

MARKER_ERE = (
    r"is in terminal state|MealPhoto .* updated to|Finalized meal_id=|"
    r"\[AI\]\[Cancel\]|has no photos, deleting orphan|"
    r"\[AI\] Mark MealPhoto .* as CANCELLED|\[AI\] Task cancelled: |\[AI:FAILED\]"
)
# `Failed to `: eatfit24 logs some errors without the words Error/Exception, e.g.
# `[AI] Failed to update MealPhoto %s on cancel` (the backend has no log-level prefix).
ERROR_ERE = r"Traceback|Error|Exception|ERROR|CRITICAL|Failed to "

# The eatfit24 scan of one container: every marker line, and exception lines with their
# context (the generic block's filter, runbooks/blocks/logscan.py, does the work on the host).
SCAN = ScanSpec(markers=(("marker", MARKER_ERE),), context=ERROR_ERE, before=5, after=5)
LOG_FILTER_AWK = SCAN.program()

# the watch passes what the scan passes (it classifies each line with parse.classify)
FOLLOW_ERE = f"{MARKER_ERE}|{ERROR_ERE}"

DJANGO_BOOT = djshell.BOOT
DB_TEMPLATE_NAME = "monitor_db.py.j2"


def logs_command(container: str, window: Window, tail: int | None, context: int = 5, label: str = "") -> Command:
    """`docker logs --timestamps --since W [--tail N] C 2>&1 | awk <filter>` as a value."""
    spec = replace(SCAN, before=int(context), after=int(context))
    return container_command(container, spec, since=window.docker, tail=tail, label=label)


# mawk (Debian's and Ubuntu's default awk) reads a pipe in blocks unless given
# `-W interactive`, so a follow would show nothing for minutes; gawk and busybox awk
# stream as they are. The follow asks awk what it is, once, on the host.
AWK_STREAMING = 'case "$(awk -W version 2>&1 </dev/null)" in *mawk*) W="-W interactive";; *) W=;; esac'
FOLLOW_AWK = f'$0 ~ /{FOLLOW_ERE}/ {{ print p "\\t" $0; fflush() }}'


def follow_command(container: str, tail: int = 50, role: str = "") -> Command:
    """`monitor.watch`: live follow of one container's marker lines, each prefixed with
    `role<TAB>`, filtered and tagged by one streaming awk (no grep: busybox grep has no
    --line-buffered, and GNU grep stops at a NUL byte)."""
    return cmd(
        "{ " + AWK_STREAMING + "; docker logs -f --tail {{ tail }} --timestamps {{ container }} 2>&1"
        " | awk $W -v p={{ role }} {{ program }}; }",
        tail=int(tail),
        container=container,
        role=role or container,
        program=FOLLOW_AWK,
        stream=True,
        label=f"follow {container}",
    )


def render_db_script(params: Mapping[str, Any]) -> str:
    """Render the ONE Django-shell script. Parameters enter as a JSON string literal, so
    no value is ever spliced into Python source."""
    return djshell.render_script(DB_TEMPLATE_NAME, params)


def db_params(window: Window, stuck_seconds: float, evidence_limit: int,
              success_photo_times: Mapping[int, float] | None = None, serializer: bool = True,
              success_created_limit: int = 0) -> dict[str, Any]:
    """`success_photo_times`: photo id -> epoch seconds of its SUCCESS log line. The script
    joins them with `created_at` and returns only the median, so what comes back stays the
    same size however busy the day was."""
    recent = sorted((success_photo_times or {}).items(), key=lambda kv: kv[1])[-5000:]
    return {
        "window_seconds": window.seconds,
        "since_iso": window.start_iso,
        "stuck_seconds": float(stuck_seconds),
        "evidence_limit": int(evidence_limit),
        "success_photo_times": {str(int(i)): float(t) for i, t in recent},
        # without log times (gathered concurrently): return up to this many [id, created] pairs
        "success_created_limit": int(success_created_limit),
        "serializer": bool(serializer),
    }


def db_command(container: str, script: str) -> Command:
    return djshell.command(script, container=container,
                           label="django shell: all monitor DB checks (read-only, rolled back)")
