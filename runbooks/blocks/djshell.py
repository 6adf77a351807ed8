"""The Django shell call and its result line: ONE implementation for every caller (the
monitor's DB checks, the rollback's scripts, predeploy's meal listing, doctor's probe and
the `django.query` block).

The script goes on stdin and `-c 'import sys; exec(sys.stdin.read(), ...)'` reads it to
EOF, instead of relying on `shell`'s stdin auto-detection: that detection polls stdin once
with a zero timeout and falls back to an interactive REPL when the bytes have not arrived
yet (common over SSH), which would mangle a multi-line script. Parameters reach a script
as ONE JSON string literal (`PARAMS = json.loads({{ params_literal }})`), so no value is
ever spliced into Python source. A script prints exactly one tagged line
`<TAG> {json}`; only that line is parsed (Django >= 5.2 prints an auto-import banner
without `--no-imports`, and warnings or the script's own prints go anywhere).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runbooks.blocks.logscan import split_lines
from runbooks.commands import Command
from runbooks.model import Result

RESULT_TAG = "RUNBOOKS_RESULT"
BOOT = "import sys; exec(sys.stdin.read(), {'__name__': 'runbooks'})"
# `--no-imports`: Django 5.2's shell would otherwise import every model first (and say so)
MANAGE_SHELL: tuple[str, ...] = ("python", "manage.py", "shell", "--no-imports")
TEMPLATE = ("{% if container %}docker exec -i {{ container }} {% endif %}{{ shell }} -c {{ boot }}")


def params_literal(params: Mapping[str, Any]) -> str:
    """A Python string literal holding the parameters as JSON (for `json.loads(...)`)."""
    return repr(json.dumps(dict(params), sort_keys=True, default=str))


def render_script(template_name: str, params: Mapping[str, Any]) -> str:
    """A shipped script template (templates/*.py.j2) with its parameters as one literal."""
    from runbooks.record.render import render_template

    return render_template(template_name, params_literal=params_literal(params))


def command(script: str, *, container: str | None = None, shell: Sequence[str] = MANAGE_SHELL,
            mutates: bool = False, timeout: float | None = None, label: str = "") -> Command:
    """`docker exec -i C python manage.py shell --no-imports -c BOOT` with `script` on stdin;
    without a container, `shell` alone (e.g. `/srv/venv/bin/python /srv/app/manage.py shell`)."""
    if not shell:
        raise ValueError("shell: the command that starts a Django shell is empty")
    return Command(template=TEMPLATE, vars={"container": container, "shell": list(shell), "boot": BOOT},
                   stdin=script, mutates=mutates, timeout=timeout,
                   label=label or "django shell" + (f" in {container}" if container else ""))


def parse(stdout: str, tag: str = RESULT_TAG) -> dict[str, Any] | None:
    """The LAST `<tag> {...}` line as a dict (banners and other prints are ignored), or None."""
    prefix = tag.rstrip() + " "
    found: dict[str, Any] | None = None
    for line in split_lines(stdout or ""):
        if line.startswith(prefix):
            try:
                value = json.loads(line[len(prefix):])
            except ValueError:
                continue
            if isinstance(value, dict):
                found = value
    return found


def excerpt(stdout: str, stderr: str = "", limit: int = 400) -> str:
    """The end of what the shell said (stderr first: a traceback), for a one-line reason."""
    text = (stderr or stdout or "").strip()
    return text[-limit:] if text else "(no output)"


@dataclass(frozen=True)
class ShellAnswer:
    """A Django shell's outcome: its tagged JSON, or why there is none."""

    data: dict[str, Any] | None
    error: str = ""  # one line: timed out / no tagged line (exit n): <tail of stderr>


def answer(res: Result, tag: str = RESULT_TAG) -> ShellAnswer:
    if res.timed_out:
        return ShellAnswer(None, "Django shell timed out")
    data = parse(res.stdout, tag)
    if data is None:
        return ShellAnswer(None, f"Django shell printed no {tag.strip()} line (exit {res.exit_code}): {excerpt(res.stdout, res.stderr)}")
    return ShellAnswer(data)
