"""The remote commands of a monitor run: one log scan per container, one Django shell.

Why the log scan looks the way it does: prod logs are large and the host has no Python
outside the containers, so the filtering happens on the host with POSIX awk (mawk, gawk
and busybox awk all run it) and only marker lines and exception context cross the
network. One awk pass does both jobs, which grep cannot: markers pass alone, while an
exception line (`Traceback|Error|Exception|ERROR|CRITICAL`) also passes the B lines before
it and the A lines after it (the checklist's `grep -B 5 -A 5`). Every passed line is
prefixed with its line number and a tag (M marker, E error, C context) so the parser can
rebuild exception blocks. docker's own exit status is appended as `RUNBOOKS_EXIT n`
through the pipe, because POSIX sh has no `pipefail` and awk always exits 0.

The Django shell reads the script from stdin through `-c 'import sys; exec(...)'`
rather than relying on `shell`'s stdin auto-detection: that detection polls stdin with a
zero timeout and falls back to an interactive REPL when the bytes have not arrived yet
(common over SSH), which would mangle a multi-line script.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jinja2

from ..commands import Command, cmd
from ..resources import templates_dir
from .window import Window

MARKER_ERE = (
    r"is in terminal state|MealPhoto .* updated to|Finalized meal_id=|"
    r"\[AI\]\[Cancel\]|has no photos, deleting orphan"
)
ERROR_ERE = r"Traceback|Error|Exception|ERROR|CRITICAL"

LOG_FILTER_AWK = (
    "/^RUNBOOKS_EXIT [0-9]+$/ { print \"0 S \" $0; next }\n"
    "{\n"
    "  err = 0\n"
    f"  if ($0 ~ /{MARKER_ERE}/) {{ print NR \" M \" $0; p[NR] = 1 }}\n"
    f"  else if ($0 ~ /{ERROR_ERE}/) {{\n"
    "    for (i = NR - B; i < NR; i++) if ((i in buf) && !(i in p)) { print i \" C \" buf[i]; p[i] = 1 }\n"
    "    print NR \" E \" $0; p[NR] = 1; after = A; err = 1\n"
    "  }\n"
    "  else if (after > 0) { print NR \" C \" $0; p[NR] = 1 }\n"
    "  if (!err && after > 0) after--\n"
    "  buf[NR] = $0; delete buf[NR - B]; delete p[NR - B]\n"
    "}\n"
)

LOGS_TEMPLATE = (
    "{ docker logs --timestamps --since {{ since }}{% if tail %} --tail {{ tail }}{% endif %} {{ container }} 2>&1;"
    " echo \"RUNBOOKS_EXIT $?\"; } | awk -v B={{ before }} -v A={{ after }} {{ program }}"
)

FOLLOW_ERE = r"Finalized|terminal state|MealPhoto .* updated to|\[AI\]\[Cancel\]|deleting orphan|Traceback|Error|Exception"

DJANGO_BOOT = "import sys; exec(sys.stdin.read(), {'__name__': 'runbooks_monitor'})"
DB_TEMPLATE_NAME = "monitor_db.py.j2"


def logs_command(container: str, window: Window, tail: int | None, context: int = 5, label: str = "") -> Command:
    """`docker logs --timestamps --since W [--tail N] C 2>&1 | awk <filter>` as a value."""
    return cmd(
        LOGS_TEMPLATE,
        since=window.docker,
        tail=tail,
        container=container,
        before=int(context),
        after=int(context),
        program=LOG_FILTER_AWK,
        label=label or f"docker logs {container} (filtered on host)",
    )


def follow_command(container: str, tail: int = 50) -> Command:
    """`monitor.watch`: live follow of one container's marker lines (the lead streams it)."""
    return cmd(
        "docker logs -f --tail {{ tail }} --timestamps {{ container }} 2>&1 | grep --line-buffered -E {{ ere }}",
        tail=int(tail),
        container=container,
        ere=FOLLOW_ERE,
        stream=True,
        label=f"follow {container}",
    )


_TEMPLATE_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(templates_dir())),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


def render_db_script(params: Mapping[str, Any]) -> str:
    """Render the ONE Django-shell script. Parameters enter as a JSON string literal, so
    no value is ever spliced into Python source."""
    literal = repr(json.dumps(dict(params), sort_keys=True))
    return _TEMPLATE_ENV.get_template(DB_TEMPLATE_NAME).render(params_literal=literal)


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
    return cmd(
        "docker exec -i {{ container }} python manage.py shell --no-imports -c {{ boot }}",
        container=container,
        boot=DJANGO_BOOT,
        stdin=script,
        label="django shell: all monitor DB checks (read-only, rolled back)",
    )
