"""Findings from facts, evaluated locally after gathering.

`evaluate(facts, checks, settings, baselines)` returns one Finding per selected check:
`alert` (with exact count and evidence), `ok` (evaluated and passed), `skipped` (could not
be evaluated; the reason says why) or `no_baseline` (anomaly rule without enough history).
`facts` holds what the gather steps produced: `worker_logs`, `backend_logs`, `db`, `api`
(absent: not gathered) and `errors` (part -> why it failed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..model import Finding
from .anomaly import ANOMALY_RULES, Baselines
from .catalog import CATALOG
from .derive import Metrics, all_metrics
from .sections import NEEDS
from .thresholds import Settings

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


def r_failed_ratio(facts: Facts, s: Settings, m: Metrics) -> Finding:
    w, why = _logs(facts, "worker_logs")
    if w is None:
        return make("failed_ratio_high", s, "skipped", reason=why)
    r = m.get("failed_ratio")
    th = f"FAILED/(COMPLETE+FAILED) > {s['failed_ratio']:.0%}"
    if r is None:
        return make("failed_ratio_high", s, "ok", reason="no finalizations in the window: ratio n/a", threshold=th)
    if r > s["failed_ratio"]:
        ev = [x for x in w.get("finalized", []) if x.get("as") == "FAILED"]
        return make("failed_ratio_high", s, "alert", int(m["finalized_failed"] or 0), ev,
                    reason=f"ratio {r:.1%} ({m['finalized_failed']} FAILED / {m['finalized_complete']} COMPLETE)",
                    threshold=th)
    return make("failed_ratio_high", s, "ok", reason=f"ratio {r:.1%}", threshold=th)


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
}
RATIO_RULES: dict[str, Callable[[Facts, Settings, Metrics], Finding]] = {
    "failed_ratio_high": r_failed_ratio,
    "cancel_duplicate_rate_high": r_duplicate_rate,
}


def evaluate(facts: Facts, checks: list[str] | tuple[str, ...], settings: Settings,
             baselines: Baselines | None = None) -> tuple[list[Finding], Metrics]:
    """All selected checks -> findings (one each, in catalog order), plus the run's metrics."""
    metrics = all_metrics(facts)
    findings: list[Finding] = []
    for rule_id in [c for c in CATALOG if c in set(checks)]:
        if rule_id in settings.disabled:
            findings.append(make(rule_id, settings, "skipped", reason="disabled in the target's monitor config"))
            continue
        if rule_id in POINT_RULES:
            findings.append(POINT_RULES[rule_id](facts, settings))
        elif rule_id in RATIO_RULES:
            findings.append(RATIO_RULES[rule_id](facts, settings, metrics))
        else:
            missing = [n for n in NEEDS[rule_id] if facts.get(n) is None]
            if missing:
                why = "; ".join((facts.get("errors") or {}).get(n) or f"{n} not gathered" for n in missing)
                findings.append(make(rule_id, settings, "skipped", reason=why))
            else:
                findings.append(ANOMALY_RULES[rule_id](facts, settings, metrics, baselines or {}))
    return findings, metrics
