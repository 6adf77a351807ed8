"""The checks read from the one Django shell's result (and the API spot check): sections 3-6
of the checklist. Each is one `@check` record and its function (check.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.check import ROLLBACK, Check, check
from runbooks.packs.eatfit24.monitor.facts import Facts, api_state, db_part

if TYPE_CHECKING:
    from runbooks.packs.eatfit24.monitor.anomaly import Baselines
    from runbooks.packs.eatfit24.monitor.derive import Metrics
    from runbooks.packs.eatfit24.monitor.thresholds import Settings


def _incidents(photo_part: Mapping[str, Any], meal_part: Mapping[str, Any]) -> int:
    """One race-guard failure usually shows twice (the photo holds results AND its meal has
    FoodItems without a SUCCESS photo): count each leaked photo once, plus the meals whose
    items no leaked photo explains."""
    explained = {p.get("meal_id") for p in photo_part["sample"]}
    extra = sum(1 for m in meal_part["sample"] if m.get("meal_id") not in explained)
    unseen = max(0, meal_part["count"] - len(meal_part["sample"]))  # beyond the evidence sample
    return int(photo_part["count"]) + extra + unseen


def _counted(c: Check, facts: Facts, s: "Settings", part: str, threshold: str) -> Finding:
    """A check that is one DB part's `count` and `sample` (alert on any): skipped, with the
    reason, when the part could not run, never an OK that saw nothing."""
    got, why = db_part(facts, part)
    if got is None:
        return c.make(s, "skipped", reason=why or "")
    return c.alert_or_ok(s, got["count"], got["sample"], threshold=threshold)


@check("cancelled_photo_with_results", "P0", "CANCELLED photo with recognition results (race guard failed)",
       "P0 regression: the race guard is not working. Check recent changes to apps/ai/tasks.py (race guard) "
       f"and apps/nutrition/serializers.py; {ROLLBACK} if widespread", "4. Logical impossibility", needs=("db",))
def cancelled_photo_with_results(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    leaked, why = db_part(facts, "leaked_photos")
    meals, why2 = db_part(facts, "meals_items_without_success")
    if leaked is None and meals is None:
        return c.make(s, "skipped", reason=f"{why}; {why2}")
    ev: list[dict[str, Any]] = []
    # both parts are {"count": int, "sample": [row, ...]} as gathered (parsed JSON), or empty
    photo_part: Mapping[str, Any] = leaked["CANCELLED"] if leaked is not None else {"count": 0, "sample": []}
    meal_part: Mapping[str, Any] = meals.get("with_cancelled", meals) if meals is not None else {"count": 0, "sample": []}
    ev += [{"kind": "photo_with_items", **p} for p in photo_part["sample"]]
    ev += [{"kind": "meal_items_without_success_photo", **row} for row in meal_part["sample"]]
    n = _incidents(photo_part, meal_part)
    partial = "; ".join(w for w in (why if leaked is None else None, why2 if meals is None else None) if w)
    f = c.alert_or_ok(s, n, ev, threshold="any", ok_reason=partial)
    f.reason = f.reason or partial
    return f


@check("failed_photo_with_results", "P1", "FAILED photo with recognition results",
       "Results on a FAILED photo should have been discarded: check the race guard in apps/ai/tasks.py",
       "4. Logical impossibility", needs=("db",))
def failed_photo_with_results(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    """FAILED photos with items, and meals with FoodItems whose photos are all FAILED."""
    leaked, why = db_part(facts, "leaked_photos")
    meals, _ = db_part(facts, "meals_items_without_success")
    if leaked is None:
        return c.make(s, "skipped", reason=why or "")
    failed_only = (meals or {}).get("failed_only", {"count": 0, "sample": []})
    ev = [{"kind": "photo_with_items", **p} for p in leaked["FAILED"]["sample"]]
    ev += [{"kind": "meal_items_without_success_photo", **row} for row in failed_only["sample"]]
    return c.alert_or_ok(s, _incidents(leaked["FAILED"], failed_only), ev, threshold="any")


@check("api_non_success_photo", "P0", "Non-SUCCESS photo in the meals API (serializer leak)",
       "P0 serializer leak, immediate investigation: check apps/nutrition/serializers.py (photo filter); "
       f"{ROLLBACK}", "5. API response", needs=("db", "api"), sources=("serializer", "api"))
def api_non_success_photo(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    api, api_why = api_state(facts)
    ser, ser_why = db_part(facts, "serializer")
    if api is None and ser is None:
        return c.make(s, "skipped", reason=f"API: {api_why}; server-side: {ser_why}")
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
    f = c.alert_or_ok(s, n, ev, threshold="any")
    f.reason = "; ".join(notes)
    return f


@check("api_failed_meal", "P0", "FAILED meal in the meals API",
       f"FAILED meals must not reach the diary: check the meals view queryset and serializer; {ROLLBACK}",
       "5. API response", needs=("db", "api"), sources=("api",))
def api_failed_meal(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    api, api_why = api_state(facts)
    ser, _ = db_part(facts, "serializer")
    if api is None:
        return c.make(s, "skipped", reason=f"API not checked: {api_why}")
    ev = list(api["failed_meals"]) + list((ser or {}).get("failed_meals", []))
    return c.alert_or_ok(s, len(ev), ev, threshold="any")


@check("cancel_not_applied", "P0", "Cancel event saved but its photos are still active",
       "Service layer bug: the cancel endpoint did not mark the named photos CANCELLED. Check the cancel "
       f"service (POST /api/v1/ai/cancel/); {ROLLBACK}", "6. Cancel events", needs=("db",))
def cancel_not_applied(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    ce, why = db_part(facts, "cancel_events")
    if ce is None:
        return c.make(s, "skipped", reason=why or "")
    f = c.alert_or_ok(s, ce["not_applied_count"], ce["not_applied"], threshold="any")
    f.reason = (f"checklist's literal count (updated_photos=0 with meal_photo_ids): {ce['zero_updated_with_ids']}; "
                "alerting only where named photos are still PENDING/PROCESSING")
    return f


@check("stuck_photos", "P0", "Photos stuck in PENDING/PROCESSING",
       "Check celery worker health and the task queue (docker logs of the worker, `celery inspect active`); "
       "restart the worker if needed", "3. Unexpected statuses", needs=("db",))
def stuck_photos(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    return _counted(c, facts, s, "stuck_photos", f"PENDING/PROCESSING > {s['stuck_seconds']:g}s")


@check("stuck_meals", "P0", "Meals stuck in PROCESSING",
       "Check celery worker health and the task queue; a meal whose photos are all terminal missed "
       "finalization: check [MealService] logs", "3. Unexpected statuses", needs=("db",))
def stuck_meals(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    return _counted(c, facts, s, "stuck_meals",
                    f"PROCESSING with all photos terminal, or newest photo > {s['stuck_seconds']:g}s")


@check("cancelled_meal_visible", "P1", "Meal with every photo CANCELLED is not FAILED (empty card in the diary)",
       "The cancel did not finalize the meal (the batch cancel endpoint does not; the legacy one does): "
       "finalize it (FAILED) and check the cancel flow's finalization", "5. API response", needs=("db",))
def cancelled_meal_visible(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    return _counted(c, facts, s, "cancelled_meals_visible",
                    "any meal whose photos are all CANCELLED and that is not FAILED")
