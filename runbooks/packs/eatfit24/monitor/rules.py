"""Findings from facts, evaluated locally after gathering.

`evaluate(facts, checks, settings, baselines)` returns one Finding per selected check:
`alert` (with exact count and evidence), `ok` (evaluated and passed), `skipped` (could not
be evaluated; the reason says why) or `no_baseline` (anomaly rule without enough history).
`facts` holds what the gather steps produced: `worker_logs`, `backend_logs`, `db`, `api`
(absent: not gathered) and `errors` (part -> why it failed). The checks themselves are the
registry's (catalog.py): one record and one function each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.anomaly import Baselines
from runbooks.packs.eatfit24.monitor.catalog import CATALOG
from runbooks.packs.eatfit24.monitor.check import Check, Facts
from runbooks.packs.eatfit24.monitor.derive import Metrics, all_metrics
from runbooks.packs.eatfit24.monitor.thresholds import Settings

# The sources whose failure leaves a check unable to say "ok" (coverage.SOURCES names).
CHECK_SOURCES: dict[str, tuple[str, ...]] = {c.id: c.failure_sources for c in CATALOG.values()}


def settle(f: Finding, coverage: Mapping[str, Mapping[str, Any]]) -> Finding:
    """A check that could not say yes or no is never passed off as either.

    `not_configured`: every source it reads is one the operator did not configure (no API
    headers). `error`: a source it reads was configured but failed (command, Django, HTTP,
    timeout), or its own DB query failed; an alert found from the other sources stays an
    alert. Anything else (`disabled`, a history file problem) stays `skipped`."""
    if f.status == "alert" or f.reason.startswith("disabled"):
        return f
    srcs = [(name, coverage.get(name)) for name in CHECK_SOURCES.get(f.id, ())]
    known = [(n, c) for n, c in srcs if c is not None]
    failed = [(n, c) for n, c in known if c.get("status") == "error"]
    if failed:
        why = "; ".join(f"{n} failed: {c.get('reason')}" for n, c in failed)
        f.status, f.reason = "error", why + (f" ({f.reason})" if f.reason and f.status != "skipped" else "")
        return f
    partial = [(n, c) for n, c in known if c.get("status") == "partial" and n.endswith("_logs")]
    if partial and f.status in ("ok", "no_baseline"):
        note = "; ".join(f"{n} partial: {c.get('reason')}" for n, c in partial)
        f.reason = f"{f.reason}; {note}" if f.reason else note
    if f.status == "skipped":
        if known and all(c.get("status") == "not_configured" for _, c in known):
            f.status = "not_configured"
            f.reason = "; ".join(f"{n}: {c.get('reason')}" for n, c in known)
        elif known and f.reason and ("could not run" in f.reason or "not in the result" in f.reason):
            f.status = "error"  # its source answered, its own query failed (e.g. FieldError)
    return f


def _run(c: Check, facts: Facts, settings: Settings, metrics: Metrics, baselines: Baselines) -> Finding:
    if c.kind == "anomaly":  # a change against earlier runs says nothing without its own facts
        missing = [n for n in c.needs if facts.get(n) is None]
        if missing:
            why = "; ".join((facts.get("errors") or {}).get(n) or f"{n} not gathered" for n in missing)
            return c.make(settings, "skipped", reason=why)
    return c.fn(c, facts, settings, metrics, baselines)


def evaluate(facts: Facts, checks: list[str] | tuple[str, ...], settings: Settings,
             baselines: Baselines | None = None) -> tuple[list[Finding], Metrics]:
    """All selected checks -> findings (one each, in catalog order), plus the run's metrics.
    A rule that raises is that rule's `error`, never the loss of the other findings."""
    metrics = all_metrics(facts)
    coverage = facts.get("coverage") or {}
    findings: list[Finding] = []
    for c in [c for c in CATALOG.values() if c.id in set(checks)]:
        if c.id in settings.disabled:
            findings.append(c.make(settings, "skipped", reason="disabled in the target's monitor config"))
            continue
        try:
            f = _run(c, facts, settings, metrics, baselines or {})
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
            f = c.make(settings, "error", reason=f"rule raised {type(exc).__name__}: {exc}")
        findings.append(settle(f, coverage))
    return findings, metrics
