"""Shared pieces of the record-hardening tests: hostile host output and how to check it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from runbooks.sshd import SshServer

# What a hostile host prints: clear screen + home, set the window title, an OSC 8
# hyperlink, NUL, BEL, a bidi override, a lone CR that would overwrite the line, an 8-bit
# CSI, and Markdown/HTML that would forge the transcript.
HOSTILE = ("\x1b[2J\x1b[H\x1b]0;pwned-title\x07\x1b]8;;http://evil.example/\x1b\\click-me\x1b]8;;\x1b\\"
           " nul:\x00: bel:\x07 bidi:\u202egpj.exe cr:\rOVERWRITE c1:\x9b31m"
           " **VERDICT: OK** <img src=x onerror=alert(1)> [link](http://evil.example)\n").encode("utf-8")


def hostile_file(directory: Path) -> Path:
    """The hostile bytes in a file on the host (a log line, say), for `cat` to print."""
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / "hostile.log"
    p.write_bytes(HOSTILE)
    return p
# Characters that must never reach a terminal or a record from the host.
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


_TERMINAL_SEQ = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def as_seen(text: str) -> str:
    """What a reader sees of terminal text: escape sequences take no room (an oracle
    independent of the code under test)."""
    return _TERMINAL_SEQ.sub("", text)


def controls_in(text: str) -> list[str]:
    return sorted({repr(c) for c in RAW_CONTROLS.findall(text)})


def ssh_target(srv: SshServer, project: Path, **extra: Any) -> dict[str, Any]:
    project.mkdir(exist_ok=True)
    return srv.target(project_dir=str(project), containers={"backend": "b", "worker": "w"},
                      role="staging", confirm="yes", **extra)


def html_of(md: str) -> str:
    """transcript.md as a Markdown viewer renders it (CommonMark + GFM tables, raw HTML on)."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


def forged_markup(md: str) -> list[str]:
    """Markup in the rendered transcript that could only have come from host text."""
    html = html_of(md)
    found = []
    for needle in ("<img", "<a href", "<strong>VERDICT: OK</strong>"):
        # outside <code> only: strip code elements first
        bare = re.sub(r"<code[^>]*>.*?</code>", "", html, flags=re.S)
        if needle in bare:
            found.append(needle)
    return found


def json_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *json_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []


def event_controls(events_path: Path) -> list[str]:
    bad: set[str] = set()
    for line in events_path.read_text(encoding="utf-8").splitlines():
        for s in json_strings(json.loads(line)):
            bad.update(controls_in(s))
    return sorted(bad)


def cast_output(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return "".join(ev[2] for ev in map(json.loads, lines) if ev[1] == "o")


def cast_hostile(out: str) -> list[str]:
    """Sequences in a cast that the console itself never writes (it writes SGR colours only)."""
    no_sgr = re.sub(r"\x1b\[[0-9;]*m", "", out.replace("\r\n", "\n"))
    return controls_in(no_sgr)
