"""`inv alerts.*`: the problems the monitor keeps across runs (runbooks/alerts)."""

from __future__ import annotations

from invoke import Collection

from runbooks.tasks.core import COMMON_HELP, finish
from runbooks.tasks.flags import task


@task(positional=["key"], help={"key": "the problem's key, as `inv alerts.list` or a notification shows it (a unique prefix will do)",
            "for_": "how long to stay quiet (default 4h; 30m, 1d)",
            "why": "why it may stay quiet: recorded with who acknowledged it",
            "target": "one target (default: $RUNBOOKS_TARGET, default_target, else the built-in sandbox)",
            "json": COMMON_HELP["json"], "transcript_dir": COMMON_HELP["transcript_dir"]})
def ack(c, key=None, for_="4h", why=None, target=None, json=False, transcript_dir=None):
    """Acknowledge a known problem: still shown by every run, not notified until --for runs out."""
    from runbooks.alerts.cli import ack as body

    finish(body(key, for_, why, target, transcript_dir, json))


@task(name="list", help={"target": COMMON_HELP["target"], "json": COMMON_HELP["json"],
                         "transcript_dir": COMMON_HELP["transcript_dir"],
                         "all": "also list resolved problems"})
def list_(c, target=None, json=False, transcript_dir=None, all=False):
    """Open problems with their keys, first/last seen, and who acknowledged them."""
    from runbooks.alerts.cli import list_ as body

    finish(body(target, transcript_dir, json, all))


collection = Collection("alerts", ack, list_)
