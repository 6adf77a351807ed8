"""The finding catalog: id -> default severity, title, the checklist's next action.

Ids are a contract (DESIGN.md); severities are defaults that `monitor.severity` may
override per target.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLLBACK = "consider rollback: `inv rollback --commit <sha>`"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    action: str
    check: str  # checklist section


CATALOG: dict[str, Rule] = {r.id: r for r in (
    Rule("cancelled_photo_with_results", "P0", "CANCELLED photo with recognition results (race guard failed)",
         "P0 regression: the race guard is not working. Check recent changes to apps/ai/tasks.py (race guard) "
         f"and apps/nutrition/serializers.py; {ROLLBACK} if widespread", "4. Logical impossibility"),
    Rule("failed_photo_with_results", "P1", "FAILED photo with recognition results",
         "Results on a FAILED photo should have been discarded: check the race guard in apps/ai/tasks.py",
         "4. Logical impossibility"),
    Rule("api_non_success_photo", "P0", "Non-SUCCESS photo in the meals API (serializer leak)",
         "P0 serializer leak, immediate investigation: check apps/nutrition/serializers.py (photo filter); "
         f"{ROLLBACK}", "5. API response"),
    Rule("api_failed_meal", "P0", "FAILED meal in the meals API",
         f"FAILED meals must not reach the diary: check the meals view queryset and serializer; {ROLLBACK}",
         "5. API response"),
    Rule("cancel_not_applied", "P0", "Cancel event saved but its photos are still active",
         "Service layer bug: the cancel endpoint did not mark the named photos CANCELLED. Check the cancel "
         f"service (POST /api/v1/ai/cancel/); {ROLLBACK}", "6. Cancel events"),
    Rule("stuck_photos", "P0", "Photos stuck in PENDING/PROCESSING",
         "Check celery worker health and the task queue (docker logs of the worker, `celery inspect active`); "
         "restart the worker if needed", "3. Unexpected statuses"),
    Rule("stuck_meals", "P0", "Meals stuck in PROCESSING",
         "Check celery worker health and the task queue; a meal whose photos are all terminal missed "
         "finalization: check [MealService] logs", "3. Unexpected statuses"),
    Rule("finalization_exception", "P0", "Exception near meal finalization in the logs",
         f"Check the worker logs around the exception; may need rollback: {ROLLBACK}", "2. Meal finalization"),
    Rule("cancel_exception", "P1", "Exception in the cancel flow",
         "Check the backend/worker logs around the exception (POST /api/v1/ai/cancel/, task revocation)",
         "Cheatsheet: errors during cancel"),
    Rule("cancelled_photo_resurrected", "P0", "Cancelled photo came back (SUCCESS or active after its cancel)",
         "P0: a photo the user cancelled reached SUCCESS afterwards, so its results are in the diary. Check that the AI "
         "task does not overwrite CANCELLED (apps/ai/tasks.py: status set to PROCESSING/SUCCESS without the race "
         f"guard); {ROLLBACK}", "6. Cancel events"),
    Rule("cancelled_meal_visible", "P1", "Meal with every photo CANCELLED is not FAILED (empty card in the diary)",
         "The cancel did not finalize the meal (the batch cancel endpoint does not; the legacy one does): "
         "finalize it (FAILED) and check the cancel flow's finalization", "5. API response"),
    Rule("backend_server_error", "P1", "Unhandled exception in the backend (HTTP 500)",
         "Read the traceback in the evidence; a 500 on /api/v1/ai/* breaks uploads or cancels for that user",
         "Cheatsheet: errors"),
    Rule("ai_upstream_error_rate_high", "P1", "AI upstream errors above threshold (handled)",
         "The AI provider/proxy is failing (photos end FAILED, meals are finalized): check the AI proxy and "
         "provider status; not a finalization bug", "2. Meal finalization"),
    Rule("failed_ratio_high", "P1", "FAILED finalizations above threshold",
         "FAILED should be rare unless many users test cancel: check AI errors and cancel usage",
         "2. Meal finalization"),
    Rule("cancel_duplicate_rate_high", "P1", "High cancel duplicate rate",
         "Frontend sending multiple cancel requests: race condition or retry loop in the client",
         "6. Cancel events"),
    Rule("race_guard_spike", "P1", "Race guard rate spike vs baseline",
         "Investigate timing: AI task latency vs when users cancel", "1. Race guard"),
    Rule("cancel_noop_spike", "P2", "Cancel noop rate spike vs baseline",
         "Users clicking Cancel too early: investigate UX (loading state) or a frontend race condition",
         "6. Cancel events"),
    Rule("cancelled_growth_stable_dau", "P1", "CANCELLED photos growing with stable DAU",
         "Users are hitting Cancel more with the same audience: UX issue?", "1. Race guard (anomalies)"),
    Rule("failed_growth_without_cancel", "P1", "FAILED photos growing without CANCELLED growth",
         "AI service degradation, not user behaviour: check the AI provider and worker errors",
         "1. Race guard (anomalies)"),
    Rule("slow_processing_cancel_rise", "P1", "Processing time and cancel rate rising together",
         "Users cancel because processing is slow: check AI latency and worker capacity/queue",
         "1. Race guard (anomalies)"),
)}
