"""`inv report`: the checklist's 24-hour success criteria."""

from __future__ import annotations

from runbooks.tasks.core import COMMON_HELP, finish
from runbooks.tasks.flags import task


@task(help={
    "target": "one target from runbooks.yaml (default: $RUNBOOKS_TARGET, default_target, else the built-in sandbox)",
    "since": "the period the criteria cover (default 24h; 2d, 90m or an RFC 3339 time)",
    "out": "write the Markdown report here (default: report.md in the fresh run's transcript folder)",
    "json": COMMON_HELP["json"],
    "transcript_dir": COMMON_HELP["transcript_dir"],
})
def report(c, target=None, since="24h", out=None, json=False, transcript_dir=None):
    """Success criteria after 24 h: PASS/FAIL/UNKNOWN each, from a fresh monitor run and the history.
    Exit 0 all pass, 1 unknown or P1 fail, 2 P0 fail, 3 could not run, 4 aborted."""
    from runbooks.report.run import report as run

    finish(run(target, since, out, json, transcript_dir))


tasks = [report]
