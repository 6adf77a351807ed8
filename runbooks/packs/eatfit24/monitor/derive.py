"""Metrics from gathered facts: flat name -> number, or None where a ratio is n/a.

A ratio with a zero denominator is None ("n/a" in the table, omitted from the Prometheus
file): a quiet day is not an error. Counts are exact over the window (`--since`, `--tail`).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping
from typing import Any

from runbooks.packs.eatfit24.monitor.parse import CANCEL_KINDS, parse_ts

Metrics = dict[str, float | int | None]
STATUSES_PHOTO = ("PENDING", "PROCESSING", "SUCCESS", "FAILED", "CANCELLED")
STATUSES_MEAL = ("DRAFT", "PROCESSING", "COMPLETE", "FAILED")


def ratio(num: float | int | None, den: float | int | None) -> float | None:
    if num is None or not den:
        return None
    return round(float(num) / float(den), 6)


def label_value(value: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", value.lower())[:64] or "empty"


def worker_metrics(w: Mapping[str, Any]) -> Metrics:
    c = w.get("counts", {})
    rg_c = c.get("race_guard_cancelled", 0)
    rg_f = c.get("race_guard_failed", 0)
    rg = sum(v for k, v in c.items() if k.startswith("race_guard_"))
    success = c.get("photo_success", 0)
    blocks = w.get("error_blocks", [])
    failed_by = w.get("ai_failed_by_category", {})
    ai_failed = int(sum(failed_by.values()))
    upstream = int(sum(n for cat, n in failed_by.items() if cat != "validation"))
    out: Metrics = {
        "race_guard_cancelled": rg_c,
        "race_guard_failed": rg_f,
        "race_guard_total": rg,
        "photos_success_logged": success,
        "race_guard_rate": ratio(rg, rg + success),
        "orphan_meals_deleted": c.get("orphan_deleted", 0),
        "worker_error_blocks": sum(1 for b in blocks if not b.get("handled")),
        "worker_handled_error_blocks": sum(1 for b in blocks if b.get("handled")),
        "worker_finalization_error_blocks": sum(1 for b in blocks if b.get("finalization")),
        "worker_log_lines_passed": w.get("lines_passed", 0),
        # handled AI outcomes ([AI:FAILED] lines): upstream = every category but validation
        "ai_failed_total": ai_failed,
        "ai_upstream_errors": upstream,
        "ai_upstream_error_rate": ratio(upstream, success + ai_failed),
    }
    for cat, n in sorted(failed_by.items()):
        out[f"ai_failed_by_category.{label_value(cat)}"] = n
    return out


def finalization_metrics(w: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> Metrics:
    """Finalizations from BOTH containers: the worker finalizes after recognition, the
    backend's legacy cancel endpoint finalizes the meals it cancels."""
    fc = ff = 0
    for part in (w, b):
        c = (part or {}).get("counts", {})
        fc += c.get("finalized_complete", 0)
        ff += c.get("finalized_failed", 0)
    return {"finalized_complete": fc, "finalized_failed": ff, "failed_ratio": ratio(ff, fc + ff)}


def backend_metrics(b: Mapping[str, Any]) -> Metrics:
    c = b.get("counts", {})
    out: Metrics = {f"cancel_log_{k.lower()}": c.get(f"cancel_{k.lower()}", 0) for k in CANCEL_KINDS}
    received = out["cancel_log_received"]
    out["cancel_duplicate_ratio"] = ratio(out["cancel_log_duplicate"], received)
    out["cancel_log_noop_ratio"] = ratio(out["cancel_log_noop"], received)
    for reason, n in sorted(b.get("received_by_reason", {}).items()):
        out[f"cancel_received_by_reason.{label_value(reason)}"] = n
    blocks = b.get("error_blocks", [])
    out["backend_error_blocks"] = sum(1 for x in blocks if not x.get("handled"))
    out["backend_server_errors"] = sum(len(x.get("server_error_paths") or []) for x in blocks)
    out["backend_log_lines_passed"] = b.get("lines_passed", 0)
    out["cancel_legacy_marked"] = c.get("legacy_cancel_marked", 0)
    out["cancel_legacy_task_cancelled"] = c.get("legacy_task_cancelled", 0)
    return out


def db_metrics(d: Mapping[str, Any]) -> Metrics:
    out: Metrics = {}
    counts = d.get("counts")
    if counts:
        ps = counts.get("photos_by_status", {})
        ms = counts.get("meals_by_status", {})
        for s in STATUSES_PHOTO:
            out[f"photos_{s.lower()}"] = int(ps.get(s, 0))
        out["photos_total"] = int(sum(ps.values()))
        for s in STATUSES_MEAL:
            out[f"meals_{s.lower()}"] = int(ms.get(s, 0))
        out["meals_total"] = int(sum(ms.values()))
        out["dau"] = int(counts.get("dau", 0))
        out["meals_processing_total"] = int(counts.get("meals_processing_total", 0))
        out["cancel_rate"] = ratio(out["photos_cancelled"], out["photos_total"])
        # the same question as the log's finalizations, answered by the DB (meals created
        # in the window by final status): used when the logs do not cover the window
        out["db_failed_ratio"] = ratio(out["meals_failed"], int(out["meals_complete"] or 0) + int(out["meals_failed"] or 0))
    if "stuck_photos" in d:
        out["stuck_photos"] = d["stuck_photos"]["count"]
        out["stuck_photos_processing"] = d["stuck_photos"]["processing_only_count"]
    if "stuck_meals" in d:
        out["stuck_meals"] = d["stuck_meals"]["count"]
    if "resurrected" in d:
        out["cancelled_photos_resurrected_db"] = d["resurrected"]["count"]
    if "cancelled_meals_visible" in d:
        out["cancelled_meals_visible"] = d["cancelled_meals_visible"]["count"]
    if "leaked_photos" in d:
        out["cancelled_photos_with_results"] = d["leaked_photos"]["CANCELLED"]["count"]
        out["failed_photos_with_results"] = d["leaked_photos"]["FAILED"]["count"]
    if "meals_items_without_success" in d:
        out["meals_items_without_success_photo"] = d["meals_items_without_success"]["count"]
    ce = d.get("cancel_events")
    if ce:
        total = int(ce["total"])
        out.update({
            "cancel_events_total": total,
            "cancel_events_noop": int(ce["noop"]),
            "cancel_events_with_action": int(ce["with_action"]),
            "cancel_events_noop_ratio": ratio(ce["noop"], total),
            "cancel_events_with_action_ratio": ratio(ce["with_action"], total),
            "cancel_events_avg_updated_photos": (round(ce["avg_updated_photos"], 3)
                                                 if ce.get("avg_updated_photos") is not None else None),
            "cancel_events_zero_updated_with_ids": int(ce["zero_updated_with_ids"]),
            "cancel_not_applied": int(ce["not_applied_count"]),
        })
    ser = d.get("serializer")
    if ser:
        out["serializer_meals_rendered"] = ser["meals_rendered"]
        out["serializer_non_success_photos"] = ser["non_success_count"]
    return out


def api_metrics(a: Mapping[str, Any]) -> Metrics:
    return {
        "api_meals": a.get("meals", 0),
        "api_photos": a.get("photos", 0),
        "api_non_success_photos": len(a.get("non_success_photos", [])),
        "api_failed_meals": len(a.get("failed_meals", [])),
    }


def processing_times(worker: Mapping[str, Any] | None, db: Mapping[str, Any] | None) -> list[float]:
    """Seconds from photo upload (DB created_at) to the worker's SUCCESS log line.

    Photos have no updated_at, so this join of the two fact sources is the only honest
    measure of processing time the system offers. The Django script either did the join
    itself (`processing`, when it was given the log times) or, gathered concurrently with
    the log scan, returned bounded `success_created` pairs to join here."""
    created = {int(i): float(t) for i, t in (db or {}).get("success_created") or []}
    out = []
    for s in (worker or {}).get("photo_success", []):
        start, done = created.get(s.get("photo_id")), parse_ts(s.get("ts"))
        if start is not None and done is not None and done.timestamp() >= start:
            out.append(done.timestamp() - start)
    return out


def processing_median(worker: Mapping[str, Any] | None, db: Mapping[str, Any] | None) -> tuple[float | None, int]:
    proc = (db or {}).get("processing")
    if proc:
        median = proc.get("median_s")
        return (round(float(median), 3) if median is not None else None), int(proc.get("count") or 0)
    times = processing_times(worker, db)
    return (round(statistics.median(times), 3) if times else None), len(times)


def all_metrics(facts: Mapping[str, Any]) -> Metrics:
    out: Metrics = {}
    w, b, d, a = (facts.get(k) for k in ("worker_logs", "backend_logs", "db", "api"))
    if w:
        out.update(worker_metrics(w))
    if b:
        out.update(backend_metrics(b))
    if w or b:
        out.update(finalization_metrics(w, b))
    if d:
        out.update(db_metrics(d))
    if a and a.get("evaluated"):
        out.update(api_metrics(a))
    if w and d:
        out["processing_time_median_s"], out["processing_time_samples"] = processing_median(w, d)
    return out
