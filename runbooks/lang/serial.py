"""`serial: 1`: a mutating playbook over several targets, one at a time, in the order
given, each run confirmed as its own; the first target whose run ends with exit 2 or more
(a failed step, a P0, a verdict it could not reach, an abort) stops the rest, which are
named as not run. A warning (exit 1) goes on: it is a finding, not a broken host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runbooks.errors import FAILED

if TYPE_CHECKING:
    from runbooks.config import Target
    from runbooks.engine.options import RunOptions
    from runbooks.engine.plan import Plan
    from runbooks.lang.model import Playbook
    from runbooks.model import RunResult
    from runbooks.record.console import Out
    from runbooks.record.redact import Redactor


def run_serial(playbook: Playbook, targets: Sequence[Target], options: Sequence[RunOptions], plans: Sequence[Plan],
               out: Out, redactor: Redactor) -> list[RunResult]:
    from runbooks.engine.run import run_playbook

    results: list[RunResult] = []
    for i, (target, opts, plan) in enumerate(zip(targets, options, plans, strict=True)):
        out.line(f"── serial {i + 1}/{len(targets)}: {target.name}", "bold")
        res = run_playbook(playbook, target, opts, out, redactor, plan)
        results.append(res)
        if res.exit_code >= FAILED:
            rest = [t.name for t in targets[i + 1:]]
            if rest:
                out.error(f"serial: {target.name} ended {res.verdict.upper()} (exit {res.exit_code}); "
                          f"not run on {', '.join(rest)}")
            break
    return results
