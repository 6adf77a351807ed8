"""Jinja2 rendering of files in `templates/` (transcript.md, report.md, Django scripts)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2

from .resources import templates_dir

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
FOLD_LINES = 40


def strip_ansi(s: str) -> str:
    return _ANSI.sub("", s or "")


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside the text."""
    runs = [len(m) for m in re.findall(r"`{3,}", text or "")]
    return "`" * max(3, (max(runs) + 1) if runs else 3)


def _fold(text: str, limit: int = FOLD_LINES) -> dict[str, Any]:
    lines = strip_ansi(text or "").rstrip("\n").splitlines()
    if len(lines) <= limit:
        return {"head": "\n".join(lines), "tail": "", "folded": 0}
    head = limit // 2
    return {"head": "\n".join(lines[:head]), "tail": "\n".join(lines[-head:]), "folded": len(lines) - 2 * head}


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs: compiling transcript.md.j2 costs ~0.35 s of
    every run's wall time (bench/results.md). Jinja2 keys the cache by template name and
    source checksum, in a per-user 0700 temp directory; unusable -> no cache."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


@lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    e.filters["fence"] = _fence
    e.filters["fold"] = _fold
    e.filters["strip_ansi"] = strip_ansi
    e.filters["mdcell"] = lambda s: str(s if s is not None else "").replace("|", "\\|").replace("\n", " ")
    return e


def render_template(name: str, **context: Any) -> str:
    return env().get_template(name).render(**context)


def render_transcript_md(events: list[dict[str, Any]], context: dict[str, Any]) -> str:
    started = next((e for e in events if e["type"] == "run_started"), {})
    finished = next((e for e in reversed(events) if e["type"] == "run_finished"), None)
    return render_template("transcript.md.j2", events=events, run=started, finished=finished, ctx=context)
