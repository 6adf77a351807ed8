"""Running runbooks the way an operator does: `inv` or the `runbooks` console script, in a
terminal (pexpect pty) when the test is about what a person sees."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pexpect

from tests.helpers import ROOT

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def program(name: str) -> list[str]:
    """argv prefix for `inv -r ROOT` (as `python -m invoke`) or the `runbooks` console script."""
    if name == "runbooks":
        return [str(BIN / "runbooks")]
    return [sys.executable, "-m", "invoke", "-r", str(ROOT)]


def spawn(argv: list[str], env: dict[str, str], cwd: Path | str = ROOT, cols: int = 80, rows: int = 24,
          timeout: float = 120) -> pexpect.spawn:
    # the terminal says its size, as a real one does (the suite exports COLUMNS for pipes)
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(cwd), encoding="utf-8", timeout=timeout,
                          dimensions=(rows, cols))
    child.logfile_read = io.StringIO()  # everything the terminal showed
    return child


def screen_rows(text: str, cols: int = 80) -> list[str]:
    """The terminal rows the output occupies (ANSI stripped, long lines wrapped at `cols`)."""
    rows: list[str] = []
    for line in ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        while len(line) > cols:
            rows.append(line[:cols])
            line = line[cols:]
        rows.append(line)
    while rows and not rows[-1].strip():
        rows.pop()
    return rows


def logical_lines(text: str) -> list[str]:
    """The output's lines as printed (ANSI stripped, not wrapped)."""
    return ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def finish(child: pexpect.spawn) -> tuple[int, str]:
    """Wait for the end: (exit status, the whole terminal output)."""
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.logfile_read.getvalue()
