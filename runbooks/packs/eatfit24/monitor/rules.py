"""Findings from facts, evaluated locally after gathering.

`evaluate(facts, checks, settings, baselines)` returns one Finding per selected check:
`alert` (with exact count and evidence), `ok` (evaluated and passed), `skipped` (could not
be evaluated; the reason says why) or `no_baseline` (anomaly rule without enough history).
`facts` holds what the gather steps produced: `worker_logs`, `backend_logs`, `db`, `api`
(absent: not gathered) and `errors` (part -> why it failed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.anomaly import ANOMALY_RULES, Baselines
from runbooks.packs.eatfit24.monitor.catalog import CATALOG
from runbooks.packs.eatfit24.monitor.derive import Metrics, all_metrics
from runbooks.packs.eatfit24.monitor.parse import parse_ts
from runbooks.packs.eatfit24.monitor.sections import NEEDS
from runbooks.packs.eatfit24.monitor.thresholds import Settings

Facts = Mapping[str, Any]


def make(rule_id: str, settings: Settings, status: str, count: int = 0, evidence: list[dict[str, Any]] | None = None,
         reason: str = "", threshold: str = "") -> Finding:
    r = CATALOG[rule_id]
    limit = int(settings["evidence_limit"])
    return Finding(id=rule_id, severity=settings.severity.get(rule_id, r.severity),  # type: ignore[arg-type]
                   title=r.title, count=count, evidence=list(evidence or [])[:limit],
                   action=r.action if status == "alert" else "", status=status,  # type: ignore[arg-type]
                   reason=reason, threshold=threshold, check=r.check)


def alert_or_ok(rule_id: str, settings: Settings, count: int, evidence: list[dict[str, Any]],
                threshold: str = "", ok_reason: str = "") -> Finding:
    if count > 0:
        return make(rule_id, settings, "alert", count, evidence, threshold=threshold)
    return make(rule_id, settings, "ok", 0, [], reason=ok_reason, threshold=threshold)


def _db_part(facts: Facts, part: str) -> tuple[Any, str | None]:
    db = facts.get("db") or {}
    if part in db:
        return db[part], None
    why = (db.get("skipped") or {}).get(part) or (db.get("skipped") or {}).get("all")
    return None, f"DB check {part!r} could not run: {why}" if why else f"DB check {part!r} not in the result"


def _block_evidence(block: Mapping[str, Any]) -> dict[str, Any]:
    lines = block.get("lines", [])
    return {"container": block.get("container"), "ts": block.get("first_ts"), "lines": lines[:14]}


def r_cancelled_photo(facts: Facts, s: Settings) -> Finding:
    leaked, why = _db_part(facts, "leaked_photos")
    meals, why2 = _db_part(facts, "meals_items_without_success")
    if leaked is None and meals is None:
        return make("cancelled_photo_with_results", s, "skipped", reason=f"{why}; {why2}")
    ev: list[dict[str, Any]] = []
    # both parts are {"count": int, "sample": [row, ...]} as gathered (parsed JSON), or empty
    photo_part: Mapping[str, Any] = leaked["CANCELLED"] if leaked is not None else {"count": 0, "sample": []}
    meal_part: Mapping[str, Any] = meals.get("with_cancelled", meals) if meals is not None else {"count": 0, "sample": []}
    ev += [{"kind": "photo_with_items", **p} for p in photo_part["sample"]]
    ev += [{"kind": "meal_items_without_success_photo", **m} for m in meal_part["sample"]]
    n = _incidents(photo_part, meal_part)
    partial = "; ".join(w for w in (why if leaked is None else None, why2 if meals is None else None) if w)
    f = alert_or_ok("cancelled_photo_with_results", s, n, ev, threshold="any", ok_reason=partial)
    f.reason = f.reason or partial
    return f


def r_failed_photo(facts: Facts, s: Settings) -> Finding:
    """FAILED photos with items, and meals with FoodItems whose photos are all FAILED."""
    leaked, why = _db_part(facts, "leaked_photos")
    meals, _ = _db_part(facts, "meals_items_without_success")
    if leaked is None:
        return make("failed_photo_with_results", s, "skipped", reason=why or "")
    failed_only = (meals or {}).get("failed_only", {"count": 0, "sample": []})
    ev = [{"kind": "photo_with_items", **p} for p in leaked["FAILED"]["sample"]]
    ev += [{"kind": "meal_items_without_success_photo", **m} for m in failed_only["sample"]]
    return alert_or_ok("failed_photo_with_results", s, _incidents(leaked["FAILED"], failed_only), ev, threshold="any")


def _incidents(photo_part: Mapping[str, Any], meal_part: Mapping[str, Any]) -> int:
    """One race-guard failure usually shows twice (the photo holds results AND its meal has
    FoodItems without a SUCCESS photo): count each leaked photo once, plus the meals whose
    items no leaked photo explains."""
    explained = {p.get("meal_id") for p in photo_part["sample"]}
    extra = sum(1 for m in meal_part["sample"] if m.get("meal_id") not in explained)
    unseen = max(0, meal_part["count"] - len(meal_part["sample"]))  # beyond the evidence sample
    return int(photo_part["count"]) + extra + unseen


def _api_state(facts: Facts) -> tuple[Mapping[str, Any] | None, str]:
    api = facts.get("api")
    if api is None:
        return None, (facts.get("errors") or {}).get("api") or "API check not run"
    if not api.get("evaluated"):
        return None, api.get("reason") or "API check skipped"
    return api, ""


def r_api_non_success(facts: Facts, s: Settings) -> Finding:
    api, api_why = _api_state(facts)
    ser, ser_why = _db_part(facts, "serializer")
    if api is None and ser is None:
        return make("api_non_success_photo", s, "skipped", reason=f"API: {api_why}; server-side: {ser_why}")
    ev: list[dict[str, Any]] = []
    if ser is not None:
        ev += ser["non_success_photos"]
    if api is not None:
        ev += api["non_success_photos"]
    # The same leaked photo is usually seen by both the API and the server-side render:
    # count photos, not sightings (the server-side count covers photos past the sample).
    n = max(len({e.get("photo_id") for e in ev}), int((ser or {}).get("non_success_count") or 0))
    notes = []
    if ser is not None:
        notes.append(f"server-side: {ser['meals_rendered']} meals of all users on {ser['date']} rendered")
    else:
        notes.append(f"server-side not checked: {ser_why}")
    notes.append(f"API: {api['meals']} meals checked" if api is not None else f"API not checked: {api_why}")
    f = alert_or_ok("api_non_success_photo", s, n, ev, threshold="any")
    f.reason = "; ".join(notes)
    return f


def r_api_failed_meal(facts: Facts, s: Settings) -> Finding:
    api, api_why = _api_state(facts)
    ser, _ = _db_part(facts, "serializer")
    if api is None:
        return make("api_failed_meal", s, "skipped", reason=f"API not checked: {api_why}")
    ev = list(api["failed_meals"]) + list((ser or {}).get("failed_meals", []))
    return alert_or_ok("api_failed_meal", s, len(ev), ev, threshold="any")


def r_cancel_not_applied(facts: Facts, s: Settings) -> Finding:
    ce, why = _db_part(facts, "cancel_events")
    if ce is None:
        return make("cancel_not_applied", s, "skipped", reason=why or "")
    f = alert_or_ok("cancel_not_applied", s, ce["not_applied_count"], ce["not_applied"], threshold="any")
    f.reason = (f"checklist's literal count (updated_photos=0 with meal_photo_ids): {ce['zero_updated_with_ids']}; "
                "alerting only where named photos are still PENDING/PROCESSING")
    return f


def r_stuck_photos(facts: Facts, s: Settings) -> Finding:
    st, why = _db_part(facts, "stuck_photos")
    if st is None:
        return make("stuck_photos", s, "skipped", reason=why or "")
    return alert_or_ok("stuck_photos", s, st["count"], st["sample"],
                       threshold=f"PENDING/PROCESSING > {s['stuck_seconds']:g}s")


def r_stuck_meals(facts: Facts, s: Settings) -> Finding:
    st, why = _db_part(facts, "stuck_meals")
    if st is None:
        return make("stuck_meals", s, "skipped", reason=why or "")
    return alert_or_ok("stuck_meals", s, st["count"], st["sample"],
                       threshold=f"PROCESSING with all photos terminal, or newest photo > {s['stuck_seconds']:g}s")


def _logs(facts: Facts, part: str) -> tuple[Mapping[str, Any] | None, str]:
    lg = facts.get(part)
    if lg is None:
        return None, (facts.get("errors") or {}).get(part) or f"{part.replace('_', ' ')} not gathered"
    return lg, ""


def r_finalization_exception(facts: Facts, s: Settings) -> Finding:
    w, why = _logs(facts, "worker_logs")
    if w is None:
        return make("finalization_exception", s, "skipped", reason=why)
    blocks = [b for b in w.get("error_blocks", []) if b.get("finalization")]
    b_logs = facts.get("backend_logs") or {}
    blocks += [b for b in b_logs.get("error_blocks", []) if b.get("finalization")]
    return alert_or_ok("finalization_exception", s, len(blocks), [_block_evidence(b) for b in blocks],
                       threshold="any exception/traceback near [MealService] finalization")


def r_cancel_exception(facts: Facts, s: Settings) -> Finding:
    b, why = _logs(facts, "backend_logs")
    w = facts.get("worker_logs")
    if b is None and w is None:
        return make("cancel_exception", s, "skipped", reason=why)
    ev: list[dict[str, Any]] = []
    for part in (b, w):
        if part:
            ev += [_block_evidence(x) for x in part.get("error_blocks", []) if x.get("cancel") and not x.get("finalization")]
            ev += part.get("cancel_exception_lines", [])
    f = alert_or_ok("cancel_exception", s, len(ev), ev, threshold="any exception in the cancel flow")
    if b is None:
        f.reason = f"backend logs not checked: {why}"
    return f


def _partial(facts: Facts, part: str) -> str:
    """Why a log source covers less than the window ("" when it covers all of it)."""
    cov = (facts.get("coverage") or {}).get(part) or {}
    return str(cov.get("reason") or "partial window") if cov.get("status") == "partial" else ""


def r_failed_ratio(facts: Facts, s: Settings, m: Metrics) -> Finding:
    """FAILED/(COMPLETE+FAILED) finalizations from both containers' logs; when the logs do
    not cover the window (a recreated container), from the DB: meals created in the
    window by final status. The reason says which source the number came from."""
    w, why = _logs(facts, "worker_logs")
    th = f"FAILED/(COMPLETE+FAILED) > {s['failed_ratio']:.0%}"
    partial = _partial(facts, "worker_logs") or _partial(facts, "backend_logs")
    use_db = (w is None or partial) and m.get("meals_total") is not None
    if use_db:
        r, failed_n, complete_n = m.get("db_failed_ratio"), int(m.get("meals_failed") or 0), int(m.get("meals_complete") or 0)
        source = "DB (meals created in the window by final status)" + (f"; logs not used: {partial or why}")
    elif w is None:
        return make("failed_ratio_high", s, "skipped", reason=why)
    else:
        r, failed_n, complete_n = m.get("failed_ratio"), int(m.get("finalized_failed") or 0), int(m.get("finalized_complete") or 0)
        source = "logs (finalizations in both containers)"
    if r is None:
        return make("failed_ratio_high", s, "ok", reason=f"no finalized meals in the window: ratio n/a; source: {source}",
                    threshold=th)
    detail = f"ratio {r:.1%} ({failed_n} FAILED / {complete_n} COMPLETE); source: {source}"
    if r > s["failed_ratio"]:
        ev = [] if use_db or w is None else [x for x in w.get("finalized", []) if x.get("as") == "FAILED"]
        ev += [x for x in (facts.get("backend_logs") or {}).get("finalized", []) if x.get("as") == "FAILED" and not use_db]
        return make("failed_ratio_high", s, "alert", failed_n, ev, reason=detail, threshold=th)
    return make("failed_ratio_high", s, "ok", reason=detail, threshold=th)


def r_ai_upstream(facts: Facts, s: Settings, m: Metrics) -> Finding:
    """Handled AI upstream failures ([AI:FAILED], every category but validation): the
    photo goes FAILED and the meal is finalized, so this is a rate, never an exception."""
    rid = "ai_upstream_error_rate_high"
    w, why = _logs(facts, "worker_logs")
    if w is None:
        return make(rid, s, "skipped", reason=why)
    r = m.get("ai_upstream_error_rate")
    th = f"upstream AI errors / recognitions > {s['ai_upstream_error_ratio']:.0%}, >= {s['min_events']:g} errors"
    n = int(m.get("ai_upstream_errors") or 0)
    partial = _partial(facts, "worker_logs")
    note = f" (partial window: {partial})" if partial else ""
    if r is None:
        return make(rid, s, "ok", reason="no recognitions in the window: rate n/a" + note, threshold=th)
    detail = f"{n} upstream errors, rate {r:.1%} of {int(m.get('photos_success_logged') or 0) + int(m.get('ai_failed_total') or 0)} recognitions" + note
    if r > s["ai_upstream_error_ratio"] and n >= s["min_events"]:
        ev = [x for x in w.get("ai_failed", []) if x.get("category") != "validation"]
        return make(rid, s, "alert", n, ev, reason=detail, threshold=th)
    return make(rid, s, "ok", reason=detail, threshold=th)


def r_cancelled_meal_visible(facts: Facts, s: Settings) -> Finding:
    part, why = _db_part(facts, "cancelled_meals_visible")
    if part is None:
        return make("cancelled_meal_visible", s, "skipped", reason=why or "")
    return alert_or_ok("cancelled_meal_visible", s, part["count"], part["sample"],
                       threshold="any meal whose photos are all CANCELLED and that is not FAILED")


def r_backend_server_error(facts: Facts, s: Settings) -> Finding:
    b, why = _logs(facts, "backend_logs")
    if b is None:
        return make("backend_server_error", s, "skipped", reason=why)
    ev = []
    for blk in b.get("error_blocks", []):
        for path in blk.get("server_error_paths") or []:
            ev.append({"container": blk.get("container"), "ts": blk.get("first_ts"), "path": path,
                       "exception": blk.get("exception"), "lines": blk.get("lines", [])[:14]})
    return alert_or_ok("backend_server_error", s, len(ev), ev, threshold="any `Internal Server Error` (HTTP 500)")


def r_resurrected(facts: Facts, s: Settings) -> Finding:
    """A photo a cancel applied to that is SUCCESS (or active) afterwards. From the DB
    (CancelEvents that updated their photos) and from the logs: a cancel line for the
    photo (the batch endpoint's UPDATED_PHOTOS, the legacy endpoint's `Mark MealPhoto N as
    CANCELLED`) followed by the worker's `MealPhoto N updated to SUCCESS`. A photo that
    reached SUCCESS after a cancel was active when the cancel ran, so the cancel applied."""
    rid = "cancelled_photo_resurrected"
    db_part, db_why = _db_part(facts, "resurrected")
    w, b = facts.get("worker_logs"), facts.get("backend_logs")
    if db_part is None and (w is None or b is None):
        return make(rid, s, "skipped", reason=db_why or "")
    ev: dict[Any, dict[str, Any]] = {}
    for row in (db_part or {}).get("sample", []):
        ev[row.get("photo_id")] = dict(row)
    if w is not None and b is not None:
        success: dict[Any, Any] = {}
        for row in w.get("photo_success", []):
            ts = parse_ts(row.get("ts"))
            if ts is not None:
                success.setdefault(row.get("photo_id"), ts)
        for pid, cancelled_at, how in _log_cancels(b):
            done = success.get(pid)
            if done is not None and done > cancelled_at:
                row = ev.setdefault(pid, {"photo_id": pid, "source": "logs"})
                row.update({"cancelled_at_log": cancelled_at.isoformat(), "success_at_log": done.isoformat(), "cancel_line": how})
                if row.get("source") == "db":
                    row["source"] = "db+logs"
    n = max(len(ev), int((db_part or {}).get("count") or 0))
    f = alert_or_ok(rid, s, n, list(ev.values()), threshold="any")
    if db_part is None:
        f.reason = f"from the logs only: {db_why}"
    return f


def _log_cancels(b: Mapping[str, Any]) -> list[tuple[Any, Any, str]]:
    out = []
    for row in (b.get("cancel") or {}).get("UPDATED_PHOTOS", []):
        ts = parse_ts(row.get("ts"))
        if ts is None:
            continue
        for pid in re.findall(r"\d+", str(row.get("meal_photo_ids") or "")):
            out.append((int(pid), ts, "UPDATED_PHOTOS"))
    for row in b.get("legacy_cancel_marked", []):
        ts = parse_ts(row.get("ts"))
        if ts is not None:
            out.append((row.get("photo_id"), ts, "legacy Mark ... as CANCELLED"))
    return out


def r_duplicate_rate(facts: Facts, s: Settings, m: Metrics) -> Finding:
    b, why = _logs(facts, "backend_logs")
    if b is None:
        return make("cancel_duplicate_rate_high", s, "skipped", reason=why)
    r = m.get("cancel_duplicate_ratio")
    th = f"DUPLICATE/RECEIVED > {s['duplicate_ratio']:.0%}"
    if r is None:
        return make("cancel_duplicate_rate_high", s, "ok", reason="no cancel requests in the window: ratio n/a",
                    threshold=th)
    if r > s["duplicate_ratio"]:
        return make("cancel_duplicate_rate_high", s, "alert", int(m["cancel_log_duplicate"] or 0),
                    b.get("cancel", {}).get("DUPLICATE", []),
                    reason=f"{r:.1%} of {m['cancel_log_received']} RECEIVED", threshold=th)
    return make("cancel_duplicate_rate_high", s, "ok", reason=f"{r:.1%}", threshold=th)


POINT_RULES: dict[str, Callable[[Facts, Settings], Finding]] = {
    "cancelled_photo_with_results": r_cancelled_photo,
    "failed_photo_with_results": r_failed_photo,
    "api_non_success_photo": r_api_non_success,
    "api_failed_meal": r_api_failed_meal,
    "cancel_not_applied": r_cancel_not_applied,
    "stuck_photos": r_stuck_photos,
    "stuck_meals": r_stuck_meals,
    "finalization_exception": r_finalization_exception,
    "cancel_exception": r_cancel_exception,
    "cancelled_photo_resurrected": r_resurrected,
    "backend_server_error": r_backend_server_error,
    "cancelled_meal_visible": r_cancelled_meal_visible,
}
RATIO_RULES: dict[str, Callable[[Facts, Settings, Metrics], Finding]] = {
    "failed_ratio_high": r_failed_ratio,
    "ai_upstream_error_rate_high": r_ai_upstream,
    "cancel_duplicate_rate_high": r_duplicate_rate,
}


# The sources whose failure leaves a check unable to say "ok" (coverage.SOURCES names).
CHECK_SOURCES: dict[str, tuple[str, ...]] = {
    **NEEDS,
    "api_non_success_photo": ("serializer", "api"),
    "api_failed_meal": ("api",),
    "failed_ratio_high": ("worker_logs", "backend_logs"),  # the DB is its fallback, not a source it needs
}


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


def evaluate(facts: Facts, checks: list[str] | tuple[str, ...], settings: Settings,
             baselines: Baselines | None = None) -> tuple[list[Finding], Metrics]:
    """All selected checks -> findings (one each, in catalog order), plus the run's metrics.
    A rule that raises is that rule's `error`, never the loss of the other findings."""
    metrics = all_metrics(facts)
    coverage = facts.get("coverage") or {}
    findings: list[Finding] = []
    for rule_id in [c for c in CATALOG if c in set(checks)]:
        if rule_id in settings.disabled:
            findings.append(make(rule_id, settings, "skipped", reason="disabled in the target's monitor config"))
            continue
        try:
            if rule_id in POINT_RULES:
                f = POINT_RULES[rule_id](facts, settings)
            elif rule_id in RATIO_RULES:
                f = RATIO_RULES[rule_id](facts, settings, metrics)
            else:
                missing = [n for n in NEEDS[rule_id] if facts.get(n) is None]
                if missing:
                    why = "; ".join((facts.get("errors") or {}).get(n) or f"{n} not gathered" for n in missing)
                    f = make(rule_id, settings, "skipped", reason=why)
                else:
                    f = ANOMALY_RULES[rule_id](facts, settings, metrics, baselines or {})
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
            f = make(rule_id, settings, "error", reason=f"rule raised {type(exc).__name__}: {exc}")
        findings.append(settle(f, coverage))
    return findings, metrics
