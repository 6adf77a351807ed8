"""`serial: 1`: a mutating playbook over several targets, one at a time, in the order
given, each run confirmed as its own.

  * a target whose run ends with exit 2 or more (a failed step, a P0, a verdict it could
    not reach, an abort) stops the rest, which are named as not run;
  * a target that ends with a warning (exit 1: findings) is not silently passed over: the
    operator is asked whether to go on to the next target, shown the findings' ids;
    --yes answers yes (said on the console), no answer stops the rest: declined, the
    combined verdict is ABORTED (exit 4); no terminal and no --yes, ERROR (exit 3): a
    change nobody confirmed is not carried to the next host.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from runbooks.errors import FAILED, WARN

if TYPE_CHECKING:
    from runbooks.config import Target
    from runbooks.engine.options import RunOptions
    from runbooks.engine.plan import Plan
    from runbooks.engine.verdict import Verdict
    from runbooks.lang.model import Playbook
    from runbooks.model import RunResult
    from runbooks.record.console import Out
    from runbooks.record.redact import Redactor


@dataclass
class SerialRun:
    """The runs done, in order, and why the targets after the last one were not run."""

    results: list[RunResult] = field(default_factory=list)
    stopped: str = ""  # one line: why the rest was not run ("" when every target ran)
    not_run: list[str] = field(default_factory=list)
    verdict: Verdict | None = None  # the stop's own verdict (aborted, error), when worse than the runs'


def run_serial(playbook: Playbook, targets: Sequence[Target], options: Sequence[RunOptions], plans: Sequence[Plan],
               out: Out, redactor: Redactor) -> SerialRun:
    from runbooks.engine.run import run_playbook

    done = SerialRun()
    why = "the first target"
    for i, (target, opts, plan) in enumerate(zip(targets, options, plans, strict=True)):
        out.line(f"── serial {i + 1}/{len(targets)}: {target.name}", "bold")
        opts = replace(opts, serial=f"{i + 1}/{len(targets)} ({', '.join(t.name for t in targets)}): {why}")
        res = run_playbook(playbook, target, opts, out, redactor, plan)
        done.results.append(res)
        rest = [t.name for t in targets[i + 1:]]
        if not rest:
            break
        if res.exit_code >= FAILED:
            done.stopped = (f"serial: {target.name} ended {res.verdict.upper()} (exit {res.exit_code}); "
                            f"not run on {', '.join(rest)}")
            done.not_run = rest
            out.error(done.stopped)
            break
        if res.exit_code == WARN:
            decided = _go_on(res, rest, opts, out, done)
            _record(res, redactor, decided, done)
            if decided is None:
                break
            why = decided
        else:
            why = f"{target.name} ended {res.verdict.upper()} (exit {res.exit_code})"
    return done


def _record(res: RunResult, redactor: Redactor, went_on: str | None, done: SerialRun) -> None:
    """The decision, in the record of the run it was taken on (appended after its verdict,
    chain kept; the task seals it after): going on is also in the next run's `Serial` row,
    stopping is in no other record."""
    from pathlib import Path

    from runbooks.record.append import append

    if not res.transcript:
        return
    data = ({"decision": "went on", "text": went_on} if went_on is not None else
            {"decision": "stopped", "text": done.stopped, "not_run": done.not_run})
    try:
        append(Path(res.transcript).parent, redactor, [("serial", data)])
    except (OSError, ValueError, KeyError):
        pass  # the run's own record stays as it was; the console and the JSON still say it


def _go_on(res: RunResult, rest: list[str], opts: RunOptions, out: Out, done: SerialRun) -> str | None:
    """After a target that ended WARN: the operator says whether the next one runs. The
    decision to go on, as the next run records it (its transcript's "Serial" row: the WARN
    target's own record is sealed by then), or None: stopped."""
    from runbooks.errors import Terminated

    ids = sorted({f.id for f in res.findings if f.status == "alert"})
    verdict: Verdict
    what = f"serial: {res.target} ended WARN (exit 1): {', '.join(ids) or res.message or 'warnings'}"
    if opts.yes:
        out.line(f"{what}; going on to {rest[0]} (--yes on behalf of {getpass.getuser()})", "bold yellow")
        return f"{what}; went on: --yes on behalf of {getpass.getuser()}"
    if not opts.is_interactive():
        why, verdict = "nobody to confirm going on (stdin is not a terminal; --yes answers yes)", "error"
    else:
        try:
            answer = out.ask(f"  {what}. Go on to {rest[0]} ({len(rest)} target(s) left)? [y/N] ")
        except (EOFError, KeyboardInterrupt, Terminated):
            answer = "<EOF>"
        if answer.strip().lower() in ("y", "yes"):
            out.line(f"  going on to {rest[0]} (operator {getpass.getuser()})", "bold yellow")
            return f"{what}; went on: operator {getpass.getuser()} answered {answer.strip()!r}"
        why, verdict = f"the operator stopped (answered {answer.strip()!r})", "aborted"
    done.stopped, done.not_run, done.verdict = f"{what}; not run on {', '.join(rest)}: {why}", rest, verdict
    out.error(done.stopped)
    return None
