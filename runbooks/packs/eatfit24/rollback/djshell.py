"""Django-shell scripts of the rollback (templates/rollback_*.j2) and their result line.

Each script prints exactly one line `RUNBOOKS_RESULT {json}`; we parse that line and
nothing else (Django >= 5.2 prints an auto-import banner, warnings go anywhere).
The script goes on stdin; `-c 'import sys; exec(sys.stdin.read())'` reads it to EOF
instead of relying on `shell`'s stdin auto-detection, which polls stdin once without
waiting and would drop into an interactive shell if the script had not arrived yet.
Parameters reach the script as one JSON string literal, never as interpolated code.
"""

from __future__ import annotations

import json
from typing import Any

from runbooks.commands import Command
from runbooks.record.render import render_template

TAG = "RUNBOOKS_RESULT "
BOOT = "import sys; exec(sys.stdin.read(), {'__name__': 'runbooks_rollback'})"


def script(name: str, params: dict[str, Any]) -> str:
    # json.dumps twice: a JSON string is a valid Python string literal holding the JSON
    return render_template(name, params_literal=json.dumps(json.dumps(params, sort_keys=True)))


def command(backend: str, name: str, params: dict[str, Any], *, mutates: bool = False, label: str = "",
            timeout: float = 180) -> Command:
    return Command(
        template="docker exec -i {{ backend }} python manage.py shell --no-imports -c {{ boot }}",
        vars={"backend": backend, "boot": BOOT}, stdin=script(name, params), mutates=mutates,
        label=label or f"django shell: {name}", timeout=timeout,
    )


def parse(stdout: str) -> dict[str, Any] | None:
    """The last `RUNBOOKS_RESULT {...}` line as a dict, or None."""
    for line in reversed((stdout or "").splitlines()):
        if line.startswith(TAG):
            try:
                data = json.loads(line[len(TAG):])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def failure_excerpt(stdout: str, stderr: str, limit: int = 400) -> str:
    text = (stderr or stdout or "").strip()
    return text[-limit:] if text else "(no output)"
