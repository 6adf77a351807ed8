"""The fault registry: every fault a monitor finding exists for, one line each.

Injectors live in ``faults.py`` (they need Django); this list does not, so CLIs can show it."""

FAULT_DESCRIPTIONS: dict[str, str] = {
    'cancelled_photo_with_results': 'a CANCELLED photo whose recognized_data has items, its meal has FoodItems (race guard failed)',
    'failed_photo_with_results': 'a FAILED photo (watchdog timeout) whose late result still wrote items to the meal',
    'serializer_leak': 'MealSerializer (and so the meals API) returns non-SUCCESS photos',
    'failed_meal_in_api': 'the meals API stops excluding FAILED meals',
    'stuck_photo': 'a photo PROCESSING for 5 minutes (its task died); its meal stays PROCESSING',
    'stuck_meal': 'a meal PROCESSING whose photos are all terminal (cancelled while queued, tasks revoked, finalization never ran)',
    'cancel_not_applied': "cancel endpoint bug: CancelEvent names photos, updated_photos=0, the photos stay PROCESSING (created 10 s ago, not yet 'stuck')",
    'duplicate_storm': 'the frontend resends cancels: DUPLICATE lines reach 20% of RECEIVED (> 5%)',
    'noop_spike': 'users hit Cancel before uploading: NOOP cancels triple in the last hour',
    'finalization_exception': "finalization raises: ERROR line near [MealService] and a traceback on the worker's stderr; the meal stays PROCESSING",
    'failed_spike': 'AI provider degraded: every photo FAILED for an hour; FAILED finalizations reach >= 30% of all finalizations',
    'race_guard_spike': 'users cancel during processing en masse: race guard lines at least triple',
    'race_guard_off': 'the live worker loses its race guard: a late SUCCESS lands on a cancelled photo (flag only; play scenario C through the API to see it)',
    'instant_recognition': 'the live worker recognizes every photo at once (no AI latency): a driven Cancel comes too late (flag only)',
    'rebuild_fails': 'the next `docker compose up --build` fails at the image build (one shot)',
    'rebuild_hangs': 'the next `docker compose up --build` stalls in pip install until killed (one shot)',
    'worker_down': 'the celery worker container died (exit 137, OOM-killed); uploads stay PENDING',
    'ai_upstream_errors': 'N photos (default 10) in the last hour fail upstream (AI proxy 500/503): handled, photo FAILED, meal finalized FAILED',
    'cancel_no_finalize': 'only the batch cancel while the tasks are queued: every photo CANCELLED, the meal stays PROCESSING (an empty card in the diary); from then on the live batch cancel does not finalize either (flag)',
    'cancelled_photo_resurrected': 'a batch cancel (updated_photos=1) while the worker is down; the task runs later: the cancelled photo ends SUCCESS with items',
    'legacy_cancel_resurrected': "the legacy cancel's Mark line while the worker is down; the task runs later: the cancelled photo ends SUCCESS with items",
    'backend_500': 'an unhandled exception in the upload view: traceback, IntegrityError, Internal Server Error and a 500 access line in the backend log',
    'schema_changed': "the status fields were renamed: the backend's Django shell boots but MealPhoto.objects.filter(status=...) raises FieldError",
    'worker_log_warning': 'the worker runs with -l WARNING: no INFO lines, and no `celery@... ready.` line after a restart or recreate',
}
