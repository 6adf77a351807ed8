"""`inv transcripts.verify DIR` and `inv transcripts.timeline`: tools over recorded runs."""

from __future__ import annotations

from invoke import Collection

from runbooks.tasks.core import COMMON_HELP, finish
from runbooks.tasks.flags import task


@task(help={"path": "a run folder (with events.jsonl), or a transcripts directory to check every run in it",
            "json": COMMON_HELP["json"],
            "allowed_signers": "an ssh allowed-signers file (as for git): every run must carry a signature by one of "
                               "its keys (namespace runbooks-transcript)"})
def verify(c, path, json=False, allowed_signers=None):
    """Check a run's hash chain and seal: exit 0 intact, 1 truncated/unsealed, 2 modified/unsigned."""
    from runbooks.transcripts.cli import verify as run

    finish(run(path, json, allowed_signers))


@task(help={"since": "only runs started within this window (24h, 2d, 90m or an RFC 3339 time; default: all)",
            "transcript_dir": COMMON_HELP["transcript_dir"],
            "out": "write the Markdown to this file (default: print it); links are relative to the file"})
def timeline(c, since=None, transcript_dir=None, out=None):
    """Merge the runs in a transcripts directory into one UTC timeline table (Markdown) for a postmortem."""
    from runbooks.transcripts.cli import timeline as run

    finish(run(since, transcript_dir, out))


collection = Collection("transcripts", verify, timeline)
