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

from runbooks.commands import Command, cmd
from runbooks.packs.eatfit24.monitor.window import Window
from runbooks.resources import templates_dir

MARKER_ERE = (
    r"is in terminal state|MealPhoto .* updated to|Finalized meal_id=|"
    r"\[AI\]\[Cancel\]|has no photos, deleting orphan|"
    r"\[AI\] Mark MealPhoto .* as CANCELLED|\[AI\] Task cancelled: |\[AI:FAILED\]"
)
# `Failed to `: eatfit24 logs some errors without the words Error/Exception, e.g.
# `[AI] Failed to update MealPhoto %s on cancel` (the backend has no log-level prefix).
ERROR_ERE = r"Traceback|Error|Exception|ERROR|CRITICAL|Failed to "

# Lines the host adds around docker's output, tagged S by the filter (never counted as log
# lines): the host's clock, the container's creation and start times (one `docker inspect`
# in the same command), docker's exit status, the first log line's timestamp and the
# number of log lines read. Together they say what the scan really covered.
LOG_FILTER_AWK = (
    "/^RUNBOOKS_(EXIT|NOW|STARTED) / { print \"0 S \" $0; next }\n"
    "{\n"
    "  n++; if (n == 1) print \"0 S RUNBOOKS_FIRST \" $1\n"
    "  err = 0\n"
    f"  if ($0 ~ /{MARKER_ERE}/) {{ print n \" M \" $0; p[n] = 1 }}\n"
    f"  else if ($0 ~ /{ERROR_ERE}/) {{\n"
    "    for (i = n - B; i < n; i++) if ((i in buf) && !(i in p)) { print i \" C \" buf[i]; p[i] = 1 }\n"
    "    print n \" E \" $0; p[n] = 1; after = A; err = 1\n"
    "  }\n"
    "  else if (after > 0) { print n \" C \" $0; p[n] = 1 }\n"
    "  if (!err && after > 0) after--\n"
    "  buf[n] = $0; delete buf[n - B]; delete p[n - B]\n"
    "}\n"
    "END { print \"0 S RUNBOOKS_LINES \" (n + 0) }\n"
)

INSPECT_FORMAT = "{{.Created}} {{.State.StartedAt}}"
LOGS_TEMPLATE = (
    "{ echo \"RUNBOOKS_NOW $(date -u +%Y-%m-%dT%H:%M:%SZ)\";"
    " echo \"RUNBOOKS_STARTED $(docker inspect --format {{ fmt }} {{ container }} 2>&1 | head -n 1)\";"
    " docker logs --timestamps --since {{ since }}{% if tail %} --tail {{ tail }}{% endif %} {{ container }} 2>&1;"
    " echo \"RUNBOOKS_EXIT $?\"; } | awk -v B={{ before }} -v A={{ after }} {{ program }}"
)

FOLLOW_ERE = (r"Finalized|terminal state|MealPhoto .* updated to|\[AI\]\[Cancel\]|deleting orphan|"
              r"Mark MealPhoto|Task cancelled: |\[AI:FAILED\]|Traceback|Error|Exception|Failed to ")

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
        fmt=INSPECT_FORMAT,
        label=label or f"docker logs {container} (filtered on host)",
    )


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
