"""What the caller asked of one run (RunOptions), whether an operator is at a terminal,
and this tool's own commit for the record."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbooks.lang.plan import Selection

if TYPE_CHECKING:
    from runbooks.connectors import Connector
    from runbooks.http import HttpTransport


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


@dataclass
class RunOptions:
    task: str = ""  # name shown to people and in JSON ("monitor.p0"); defaults to the playbook's
    vars: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    yes: bool = False
    start_at: str | None = None
    selection: Selection = field(default_factory=Selection)  # --tags / --skip-tags
    interactive: bool | None = None  # None: stdin is a TTY
    transcript_dir: Path = Path("transcripts")
    argv: list[str] = field(default_factory=list)
    resume: str | None = None  # command line to resume, with "{step}" placeholder
    cancel: threading.Event | None = None
    connector: Connector | None = None  # reuse an open connection (verify after rollback)
    # The caller prints the summary block and then calls Out.close_records(): the run's
    # asciicast keeps recording until then, so it ends with the summary (app.run_task).
    cast_takes_summary: bool = False
    # Resume command when the always-steps could not finish (connection lost): e.g. the
    # rollback lock is still held, so the resume must take it over. "{step}" as in `resume`.
    resume_unclean: str | None = None
    http: HttpTransport | None = None
    signing_key: str | None = None  # config `signing_key`: signs the run's seal ($RUNBOOKS_SIGNING_KEY wins)
    # `serial:` runs: this run's place in the rollout and why it runs (the previous target's
    # outcome and who decided to go on), for its own record ("" outside a serial rollout)
    serial: str = ""

    def is_interactive(self) -> bool:
        return self.interactive if self.interactive is not None else stdin_is_tty()


_commit_lock = threading.Lock()
_commit: list[str | None] = []  # computed once: the code this process runs does not change


def runbooks_commit() -> str | None:
    """This tool's git commit ("-dirty" with local changes) for the record, or None. Asked
    of git once per process (two git runs; once per target in a fan-out before)."""
    with _commit_lock:
        if not _commit:
            _commit.append(_git_commit())
        return _commit[0]


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent.parent.parent
    if not (here / ".git").exists():
        return None
    try:
        r = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
                           capture_output=True, text=True, timeout=5)
        if r.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return r.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return None
