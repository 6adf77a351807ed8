"""The rollback's Django-shell scripts (templates/rollback_*.py.j2) in the backend container.

The call and the result line are the generic Django shell's (runbooks/blocks/djshell.py):
the script on stdin, its parameters as one JSON literal, exactly one `RUNBOOKS_RESULT
{json}` line parsed and nothing else.
"""

from __future__ import annotations

from typing import Any

from runbooks.blocks import djshell
from runbooks.commands import Command

TAG = djshell.RESULT_TAG


def script(name: str, params: dict[str, Any]) -> str:
    return djshell.render_script(name, params)


def command(backend: str, name: str, params: dict[str, Any], *, mutates: bool = False, label: str = "",
            timeout: float = 180) -> Command:
    return djshell.command(script(name, params), container=backend, mutates=mutates, timeout=timeout,
                           label=label or f"django shell: {name}")


def parse(stdout: str) -> dict[str, Any] | None:
    """The last `RUNBOOKS_RESULT {...}` line as a dict, or None."""
    return djshell.parse(stdout, TAG)


failure_excerpt = djshell.excerpt
