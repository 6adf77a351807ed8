"""Jinja2 rendering of files in `templates/` (transcript.md, report.md, Django scripts)."""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from typing import Any

import jinja2

from runbooks.resources import templates_dir
from runbooks.safetext import clean

FOLD_LINES = 40
JSON_PRETTY_MIN = 160  # a JSON line longer than this is shown pretty-printed (then folded)
NEWLINE_MARK = " ⏎ "  # where a line break was, inside inline code


def strip_ansi(s: str) -> str:
    """Terminal escapes removed, other control characters made visible (safetext.clean)."""
    return clean(s or "")


def _backtick_fence(text: str, least: int) -> str:
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(least, (max(runs) + 1) if runs else least)


def _code(value: object) -> str:
    """Inline code span for text we do not control (host output, commit subjects, errors):
    Markdown and HTML inside it never render (`<img>`, links, `**VERDICT: OK**`). The fence
    is one backtick longer than any run inside; padded with a space on both sides (Markdown
    strips exactly one) when the text starts or ends with a backtick or a space.
    Line breaks become a visible mark: a code span cannot hold them."""
    text = clean("" if value is None else str(value))
    if not text:
        return ""
    text = text.replace("\r", "").replace("\n", NEWLINE_MARK)
    fence = _backtick_fence(text, 1)
    if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " "):
        return f"{fence} {text} {fence}"  # Markdown strips exactly one space from each side
    return f"{fence}{text}{fence}"


def _codecell(value: object) -> str:
    """`_code` inside a table row: a pipe would end the cell even inside a code span."""
    return _code(value).replace("|", "\\|")


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside the text."""
    return _backtick_fence(text or "", 3)


def _pretty_json_lines(lines: list[str]) -> list[str]:
    """A long line that is JSON (optionally after a tag such as `RUNBOOKS_RESULT `) is
    shown pretty-printed, so it can be read and folded like any other output."""
    out: list[str] = []
    for line in lines:
        # JSON is an object or an array: a line that does not end like one is not parsed
        # (log lines full of brackets would each cost a failed json.loads)
        if len(line) < JSON_PRETTY_MIN or line.rstrip()[-1:] not in ("}", "]"):
            out.append(line)
            continue
        start = min((i for i in (line.find("{"), line.find("[")) if i >= 0), default=-1)
        if start >= 0:
            try:
                value = json.loads(line[start:])
            except ValueError:
                value = None
            if isinstance(value, (dict, list)):
                pretty = json.dumps(value, indent=2, ensure_ascii=False, default=str).splitlines()
                prefix = line[:start].rstrip()
                out.extend(([prefix] if prefix else []) + pretty)
                continue
        out.append(line)
    return out


# transcript.md is rendered twice per run (at the verdict, then again once the alert
# lifecycle has appended its events), the same outputs each time: the second render takes
# the first's folded outputs (pretty-printing a JSON result line was a third of a render).
# Per thread and per run, so one run's record never reuses another's work.
_folds = threading.local()


def _fold(text: str, limit: int = FOLD_LINES) -> dict[str, Any]:
    memo: dict[tuple[str, int], dict[str, Any]] | None = _folds.memo if getattr(_folds, "active", False) else None
    key = (text or "", limit)
    if memo is not None and key in memo:
        return dict(memo[key])
    lines = _pretty_json_lines(strip_ansi(text or "").rstrip("\n").splitlines())
    if len(lines) <= limit:
        folded: dict[str, Any] = {"head": "\n".join(lines), "tail": "", "folded": 0}
    else:
        head = limit // 2
        folded = {"head": "\n".join(lines[:head]), "tail": "\n".join(lines[-head:]), "folded": len(lines) - 2 * head}
    if memo is not None:
        memo[key] = folded
    return dict(folded)


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
    e.filters["mdcell"] = lambda s: clean(str(s if s is not None else "")).replace("|", "\\|").replace("\n", " ")
    e.filters["code"] = _code
    e.filters["codecell"] = _codecell
    return e


def render_template(name: str, **context: Any) -> str:
    return env().get_template(name).render(**context)


def render_transcript_md(events: list[dict[str, Any]], context: dict[str, Any]) -> str:
    started = next((e for e in events if e["type"] == "run_started"), {})
    finished = next((e for e in reversed(events) if e["type"] == "run_finished"), None)
    done = {e.get("step") for e in events if e["type"] == "step_finished"}
    not_run = [n for n in started.get("steps") or [] if n not in done]
    run = (started.get("ts"), started.get("target"), started.get("playbook"))
    if getattr(_folds, "run", None) != run:  # another run in this thread: its folds go
        _folds.run, _folds.memo = run, {}
    _folds.active = True
    try:
        return render_template("transcript.md.j2", events=events, run=started, finished=finished, ctx=context,
                               pending=pending_commands(events), not_run=not_run)
    finally:
        _folds.active = False


def pending_commands(events: list[dict[str, Any]]) -> set[int]:
    """Seqs of `command` events without a recorded result. Results name their command
    (`command_seq`), so concurrent commands (a Batch) pair with their own results;
    records without that key are paired in order (one command at a time)."""
    if any("command_seq" in e for e in events if e["type"] == "command_finished"):
        answered = {e.get("command_seq") for e in events if e["type"] == "command_finished"}
        return {e["seq"] for e in events if e["type"] == "command" and e["seq"] not in answered}
    pending: set[int] = set()
    open_: int | None = None
    for e in events:
        if e["type"] == "command":
            if open_ is not None:
                pending.add(open_)
            open_ = e["seq"]
        elif e["type"] == "command_finished":
            open_ = None
    if open_ is not None:
        pending.add(open_)
    return pending
