"""The checks that compare a rate with its threshold (thresholds.py): FAILED finalizations,
handled AI upstream errors, duplicate cancels. Each is one `@check` record and its
function (check.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.check import Check, check
from runbooks.packs.eatfit24.monitor.facts import Facts, logs, partial

if TYPE_CHECKING:
    from runbooks.packs.eatfit24.monitor.anomaly import Baselines
    from runbooks.packs.eatfit24.monitor.derive import Metrics
    from runbooks.packs.eatfit24.monitor.thresholds import Settings


@check("ai_upstream_error_rate_high", "P1", "AI upstream errors above threshold (handled)",
       "The AI provider/proxy is failing (photos end FAILED, meals are finalized): check the AI proxy and "
       "provider status; not a finalization bug", "2. Meal finalization", needs=("worker_logs",), kind="rate")
def ai_upstream_error_rate_high(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    """Handled AI upstream failures ([AI:FAILED], every category but validation): the
    photo goes FAILED and the meal is finalized, so this is a rate, never an exception."""
    w, why = logs(facts, "worker_logs")
    if w is None:
        return c.make(s, "skipped", reason=why)
    r = m.get("ai_upstream_error_rate")
    th = f"upstream AI errors / recognitions > {s['ai_upstream_error_ratio']:.0%}, >= {s['min_events']:g} errors"
    n = int(m.get("ai_upstream_errors") or 0)
    cut = partial(facts, "worker_logs")
    note = f" (partial window: {cut})" if cut else ""
    if r is None:
        return c.make(s, "ok", reason="no recognitions in the window: rate n/a" + note, threshold=th)
    detail = f"{n} upstream errors, rate {r:.1%} of {int(m.get('photos_success_logged') or 0) + int(m.get('ai_failed_total') or 0)} recognitions" + note
    if r > s["ai_upstream_error_ratio"] and n >= s["min_events"]:
        ev = [x for x in w.get("ai_failed", []) if x.get("category") != "validation"]
        return c.make(s, "alert", n, ev, reason=detail, threshold=th)
    return c.make(s, "ok", reason=detail, threshold=th)


@check("failed_ratio_high", "P1", "FAILED finalizations above threshold",
       "FAILED should be rare unless many users test cancel: check AI errors and cancel usage",
       "2. Meal finalization", needs=("worker_logs", "backend_logs", "db"), kind="rate",
       sources=("worker_logs", "backend_logs"))  # the DB is its fallback when the logs do not cover the window
def failed_ratio_high(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    """FAILED/(COMPLETE+FAILED) finalizations from both containers' logs; when the logs do
    not cover the window (a recreated container), from the DB: meals created in the
    window by final status. The reason says which source the number came from."""
    w, why = logs(facts, "worker_logs")
    th = f"FAILED/(COMPLETE+FAILED) > {s['failed_ratio']:.0%}"
    cut = partial(facts, "worker_logs") or partial(facts, "backend_logs")
    use_db = (w is None or cut) and m.get("meals_total") is not None
    if use_db:
        r, failed_n, complete_n = m.get("db_failed_ratio"), int(m.get("meals_failed") or 0), int(m.get("meals_complete") or 0)
        source = "DB (meals created in the window by final status)" + (f"; logs not used: {cut or why}")
    elif w is None:
        return c.make(s, "skipped", reason=why)
    else:
        r, failed_n, complete_n = m.get("failed_ratio"), int(m.get("finalized_failed") or 0), int(m.get("finalized_complete") or 0)
        source = "logs (finalizations in both containers)"
    if r is None:
        return c.make(s, "ok", reason=f"no finalized meals in the window: ratio n/a; source: {source}", threshold=th)
    detail = f"ratio {r:.1%} ({failed_n} FAILED / {complete_n} COMPLETE); source: {source}"
    if r > s["failed_ratio"]:
        ev = [] if use_db or w is None else [x for x in w.get("finalized", []) if x.get("as") == "FAILED"]
        ev += [x for x in (facts.get("backend_logs") or {}).get("finalized", []) if x.get("as") == "FAILED" and not use_db]
        return c.make(s, "alert", failed_n, ev, reason=detail, threshold=th)
    return c.make(s, "ok", reason=detail, threshold=th)


@check("cancel_duplicate_rate_high", "P1", "High cancel duplicate rate",
       "Frontend sending multiple cancel requests: race condition or retry loop in the client",
       "6. Cancel events", needs=("backend_logs",), kind="rate")
def cancel_duplicate_rate_high(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    back, why = logs(facts, "backend_logs")
    if back is None:
        return c.make(s, "skipped", reason=why)
    r = m.get("cancel_duplicate_ratio")
    th = f"DUPLICATE/RECEIVED > {s['duplicate_ratio']:.0%}"
    if r is None:
        return c.make(s, "ok", reason="no cancel requests in the window: ratio n/a", threshold=th)
    if r > s["duplicate_ratio"]:
        return c.make(s, "alert", int(m["cancel_log_duplicate"] or 0), back.get("cancel", {}).get("DUPLICATE", []),
                      reason=f"{r:.1%} of {m['cancel_log_received']} RECEIVED", threshold=th)
    return c.make(s, "ok", reason=f"{r:.1%}", threshold=th)
