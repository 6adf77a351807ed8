"""Ground truth: what the DB holds and what the container logs say, counted independently,
so tests (and people) can check that observation agrees with reality."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from typing import Any

from runbooks.sandbox.logfile import read_records
from runbooks.sandbox.paths import StatePaths
from runbooks.sandbox.timefmt import utcnow

WORKER_PATTERNS = {
    "race_guard_cancelled": r"\[AI\] Photo \d+ is in terminal state CANCELLED, discarding results \(race condition guard\)",
    "race_guard_failed": r"\[AI\] Photo \d+ is in terminal state FAILED, discarding results \(race condition guard\)",
    "updated_success": r"\[AI\] MealPhoto \d+ updated to SUCCESS with \d+ items",
    "finalized_complete": r"\[MealService\] Finalized meal_id=\d+ as COMPLETE",
    "finalized_failed": r"\[MealService\] Finalized meal_id=\d+ as FAILED \(all photos failed/cancelled\)",
    "orphan_deleted": r"\[MealService\] Meal \d+ has no photos, deleting orphan",
    "traceback": r"^Traceback \(most recent call last\):",
}
#: the backend's own lines: the legacy cancel endpoint (it finalizes meals in the backend) and
#: unhandled view errors (bare messages: production LOGGING has no formatter)
BACKEND_PATTERNS = {
    "finalized_complete": WORKER_PATTERNS["finalized_complete"],
    "finalized_failed": WORKER_PATTERNS["finalized_failed"],
    "legacy_mark": r"\[AI\] Mark MealPhoto \d+ as CANCELLED immediately",
    "legacy_task_cancelled": r"\[AI\] Task cancelled: task_id=\S+ user_id=\d+ rid=",
    "internal_server_error": r"^Internal Server Error: ",
    "traceback": WORKER_PATTERNS["traceback"],
}
CANCEL_KINDS = ("RECEIVED", "DUPLICATE", "MEAL_MISSING", "MEAL_LOOKUP_ERROR", "EVENT_SAVED",
                "RACE_CONDITION", "NOOP", "PROCESSED", "REVOKED", "REVOKE_FAILED",
                "UPDATED_PHOTOS", "EXCEPTION")


def log_counts(paths: StatePaths) -> dict[str, Any]:
    config = paths.load_config()
    worker: Counter[str] = Counter()
    regs = {k: re.compile(v) for k, v in WORKER_PATTERNS.items()}
    for rec in read_records(paths.log_file(config.worker_container)):
        for key, rx in regs.items():
            if rx.search(rec.text):
                worker[key] += 1
    cancel: Counter[str] = Counter()
    backend: Counter[str] = Counter()
    cancel_rx = re.compile(r"\[AI\]\[Cancel\] ([A-Z_]+)")
    bregs = {k: re.compile(v) for k, v in BACKEND_PATTERNS.items()}
    for rec in read_records(paths.log_file(config.backend_container)):
        m = cancel_rx.search(rec.text)
        if m:
            cancel[m.group(1)] += 1
        for key, rx in bregs.items():
            if rx.search(rec.text):
                backend[key] += 1
    return {"worker": {k: worker.get(k, 0) for k in WORKER_PATTERNS},
            "backend": {k: backend.get(k, 0) for k in BACKEND_PATTERNS},
            "cancel": {k: cancel.get(k, 0) for k in CANCEL_KINDS}}


def db_counts(stuck_seconds: int = 60) -> dict[str, Any]:
    from apps.nutrition.models import CancelEvent, FoodItem, Meal, MealPhoto

    now = utcnow()
    meals = Counter(Meal.objects.values_list("status", flat=True))
    photos = Counter(MealPhoto.objects.values_list("status", flat=True))
    leaked = {s: sorted(p.id for p in MealPhoto.objects.filter(status=s) if (p.recognized_data or {}).get("items"))
              for s in ("CANCELLED", "FAILED")}
    stuck_photos = sorted(MealPhoto.objects.filter(
        status__in=["PENDING", "PROCESSING"], created_at__lt=now - timedelta(seconds=stuck_seconds)
    ).values_list("id", flat=True))
    stuck_meals = []
    for meal in Meal.objects.filter(status="PROCESSING").prefetch_related("photos"):
        ps = list(meal.photos.all())
        newest = max((p.created_at for p in ps), default=meal.created_at)
        if all(p.status in ("SUCCESS", "FAILED", "CANCELLED") for p in ps) or \
                newest < now - timedelta(seconds=stuck_seconds):
            stuck_meals.append(meal.id)
    events = CancelEvent.objects.all()
    not_applied = []
    for ev in events.filter(updated_photos=0):
        ids = (ev.payload or {}).get("meal_photo_ids") or []
        if ids and MealPhoto.objects.filter(id__in=ids, status__in=["PENDING", "PROCESSING"]).exists():
            not_applied.append(ev.id)
    literal = sum(1 for ev in events.filter(updated_photos=0) if (ev.payload or {}).get("meal_photo_ids"))
    return {
        "meals": {s: meals.get(s, 0) for s in ("DRAFT", "PROCESSING", "COMPLETE", "FAILED")},
        "photos": {s: photos.get(s, 0) for s in ("PENDING", "PROCESSING", "SUCCESS", "FAILED", "CANCELLED")},
        "food_items": FoodItem.objects.count(),
        "cancel_events": events.count(),
        "cancel_events_noop": events.filter(noop=True).count(),
        "cancel_events_updated_photos": sum(events.values_list("updated_photos", flat=True)),
        "cancel_events_zero_update_with_photo_ids": literal,
        "cancel_not_applied_event_ids": sorted(not_applied),
        "cancelled_photos_with_results": leaked["CANCELLED"],
        "failed_photos_with_results": leaked["FAILED"],
        "stuck_photo_ids": stuck_photos,
        "stuck_meal_ids": sorted(stuck_meals),
    }


def ledger_counts(paths: StatePaths) -> dict[str, int]:
    counts: Counter[str] = Counter()
    if paths.ledger.exists():
        with open(paths.ledger, encoding="utf-8") as fh:
            for line in fh:
                e = json.loads(line)
                key = e["kind"] + (f"_{e['state'].lower()}" if "state" in e else "")
                key += f"_{e['status'].lower()}" if e["kind"] == "finalized" else ""
                counts[key] += 1
    return dict(sorted(counts.items()))


def ground_truth(paths: StatePaths) -> dict[str, Any]:
    db, logs, ledger = db_counts(), log_counts(paths), ledger_counts(paths)
    w, b, c = logs["worker"], logs["backend"], logs["cancel"]
    agree = {
        "finalized_complete (worker + backend) == meals COMPLETE":
            w["finalized_complete"] + b["finalized_complete"] == db["meals"]["COMPLETE"],
        "finalized_failed (worker + backend) == meals FAILED":
            w["finalized_failed"] + b["finalized_failed"] == db["meals"]["FAILED"],
        "EVENT_SAVED == CancelEvents": c["EVENT_SAVED"] == db["cancel_events"],
        "NOOP == noop CancelEvents": c["NOOP"] == db["cancel_events_noop"],
        "RECEIVED == EVENT_SAVED + DUPLICATE + RACE_CONDITION":
            c["RECEIVED"] == c["EVENT_SAVED"] + c["DUPLICATE"] + c["RACE_CONDITION"],
        "race guard lines == simulated race guards":
            w["race_guard_cancelled"] == ledger.get("race_guard_cancelled", 0)
            and w["race_guard_failed"] == ledger.get("race_guard_failed", 0),
        "updated-to-SUCCESS lines == SUCCESS results written":
            w["updated_success"] == ledger.get("success", 0) + ledger.get("race_guard_bypassed_cancelled", 0)
            + ledger.get("race_guard_bypassed_failed", 0),
    }
    return {"db": db, "logs": logs, "ledger": ledger, "agree": agree,
            "faults": json.loads(paths.faults.read_text()) if paths.faults.exists() else {}}
