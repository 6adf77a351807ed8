"""Step outputs: what later steps read as `steps.<name>` in templates and expressions.

    {{ steps.df.stdout }}   steps.df.exit_code   steps.api.parsed.items   steps.disk.findings
    steps.each.results[0].stdout (a loop: one output per item)   steps.ask.answer (a prompt)

An output is a plain mapping (read-only in the sandbox). Its fixed keys are always there,
so `when: steps.probe.exit_code != 0` works for a skipped step too (exit_code is None);
every key of the step's facts is there as well, under the fixed ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runbooks.model import Finding, StepOutcome

FIXED_KEYS = ("name", "status", "message", "stdout", "stderr", "exit_code", "parsed", "facts", "findings",
              "results", "attempts")


def step_output(name: str, outcome: StepOutcome, status: str | None = None,
                results: Sequence[Mapping[str, Any]] = (), attempts: int = 1) -> dict[str, Any]:
    facts = dict(outcome.facts)
    out: dict[str, Any] = {k: v for k, v in facts.items() if isinstance(k, str)}
    out.update({
        "name": name,
        "status": status or outcome.status,
        "message": outcome.message,
        "stdout": facts.get("stdout", ""),
        "stderr": facts.get("stderr", ""),
        "exit_code": facts.get("exit_code"),
        "parsed": facts.get("parsed", facts),
        "facts": facts,
        "findings": [_finding(f) for f in outcome.findings],
        "results": list(results),
        "attempts": attempts,
    })
    return out


def _finding(f: Finding) -> dict[str, Any]:
    return {"id": f.id, "severity": f.severity, "status": f.status, "title": f.title, "count": f.count,
            "value": f.value, "threshold": f.threshold}


def outputs_from_facts(facts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Outputs rebuilt from the facts alone (a caller that keeps only facts)."""
    return {name: step_output(name, StepOutcome(facts=dict(f) if isinstance(f, Mapping) else {"value": f}))
            for name, f in facts.items()}
