"""The result table printed after a predeploy run: one row per scenario, with the evidence
and what differed, and the measured wall time against the checklist's 5-minute budget."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runbooks.config import Target
from runbooks.model import RunResult
from runbooks.packs.eatfit24.predeploy.scenarios import BUDGET_SECONDS, SCENARIOS
from runbooks.record.console import Out


def elapsed_s(result: RunResult) -> float | None:
    try:
        return (datetime.fromisoformat(result.finished_at) - datetime.fromisoformat(result.started_at)).total_seconds()
    except (TypeError, ValueError):
        return None


def _evidence_text(facts: dict[str, Any]) -> str:
    """Log lines first (the checklist's own evidence), then ids."""
    ev = facts.get("evidence") or []
    logs = [str(e["log"]).split(" ", 1)[-1] for e in ev if e.get("log")]
    ids = [", ".join(f"{k}={v}" for k, v in e.items() if k not in ("check", "log")) for e in ev if not e.get("log")]
    return " | ".join(x[:160] for x in (logs + ids)[:3])


def rows(result: RunResult) -> list[list[str]]:
    out: list[list[str]] = []
    for sc in SCENARIOS.values():
        facts = result.facts.get(sc.step_name)
        if not facts or "scenario" not in facts:
            continue
        verdict = "INCONCLUSIVE" if facts.get("inconclusive") else "PASS" if facts.get("passed") else "FAIL"
        out.append([sc.key, sc.title, verdict, str(facts.get("meal_id", "-")), f"{facts.get('duration_s', 0):.1f}s",
                    _evidence_text(facts), facts.get("inconclusive") or "; ".join(facts.get("differences") or []) or "-"])
    return out


def print_summary(result: RunResult, target: Target, out: Out) -> None:
    table = rows(result)
    if table:
        out.table(f"Pre-deploy scenarios on {target.name}", ["Scenario", "Title", "Result", "Meal", "Time", "Evidence",
                                                             "What differed"], table)
    took = elapsed_s(result)
    if took is not None and table:
        within = "within" if took <= BUDGET_SECONDS else "OVER"
        result.metrics["predeploy_total_seconds"] = round(took, 1)
        out.line(f"Pre-deploy run took {took:.1f} s ({within} the checklist's {BUDGET_SECONDS // 60}-minute budget)",
                 "bold" if took <= BUDGET_SECONDS else "bold yellow")
