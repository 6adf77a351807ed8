"""Exact log lines from reference/eatfit24.md, with docker's timestamp prefix and (worker)
Celery's prefix, for the parser, the host-side filter and the rules."""

from __future__ import annotations

CELERY = "[2026-01-15 13:00:00,123: INFO/ForkPoolWorker-1] "
CELERY_ERR = "[2026-01-15 13:00:05,001: ERROR/ForkPoolWorker-2] "


def ts(sec: int) -> str:
    return f"2026-01-15T10:00:{sec:02d}.123456789Z"


WORKER_LINES = [
    f"{ts(0)} {CELERY}Task apps.ai.tasks.recognize_food_async[abc] received",                       # 1 noise
    f"{ts(1)} {CELERY}[AI] Photo 101 is in terminal state CANCELLED, discarding results (race condition guard)",  # 2
    f"{ts(2)} {CELERY}[AI] Photo 102 is in terminal state FAILED, discarding results (race condition guard)",     # 3
    f"{ts(3)} {CELERY}[AI] MealPhoto 103 updated to SUCCESS with 3 items",                            # 4
    f"{ts(4)} {CELERY}[MealService] Finalized meal_id=7 as COMPLETE",                                  # 5
    f"{ts(5)} {CELERY}[MealService] Finalized meal_id=8 as FAILED (all photos failed/cancelled)",      # 6
    f"{ts(6)} {CELERY}[MealService] Meal 9 has no photos, deleting orphan",                            # 7
    f"{ts(7)} {CELERY}noise a",                                                                        # 8
    f"{ts(8)} {CELERY}noise b",                                                                        # 9
    f"{ts(9)} {CELERY}noise c",                                                                        # 10
    f"{ts(10)} {CELERY}noise d",                                                                       # 11
    f"{ts(11)} {CELERY}noise e",                                                                       # 12
    f"{ts(12)} {CELERY}noise f",                                                                       # 13
    f"{ts(13)} {CELERY_ERR}Task apps.ai.tasks.recognize_food_async[def] raised unexpected: IntegrityError('x')",  # 14
    f"{ts(14)} Traceback (most recent call last):",                                                    # 15
    f'{ts(15)}   File "/app/apps/nutrition/services.py", line 88, in finalize_meal',                  # 16
    f"{ts(16)}     meal.save()",                                                                       # 17
    f"{ts(17)} django.db.utils.IntegrityError: boom",                                                  # 18
    f"{ts(18)} {CELERY}after 1",                                                                       # 19
    f"{ts(19)} {CELERY}after 2",                                                                       # 20
    f"{ts(20)} {CELERY}after 3",                                                                       # 21
    f"{ts(21)} {CELERY}after 4",                                                                       # 22
    f"{ts(22)} {CELERY}after 5",                                                                       # 23
    f"{ts(23)} {CELERY}after 6 (not passed)",                                                          # 24
    f"{ts(24)} {CELERY}[AI] MealPhoto 104 updated to SUCCESS with 1 items",                           # 25
]

BACKEND_LINES = [
    f"{ts(30)} [AI][Cancel] RECEIVED user=5 client_cancel_id=11111111-1111-1111-1111-111111111111 run_id=3 meal_id=7 "
    "meal_photo_ids=2 task_ids=2 request_id=aaaa reason=user_cancel",
    f"{ts(31)} [AI][Cancel] UPDATED_PHOTOS count=2 meal_photo_ids=[101, 102] user=5",
    f"{ts(32)} [AI][Cancel] REVOKED task_id=t1",
    f"{ts(33)} [AI][Cancel] EVENT_SAVED id=1 user=5 client_cancel_id=11111111-1111-1111-1111-111111111111 meal=7 noop=False",
    f"{ts(34)} [AI][Cancel] PROCESSED user=5 client_cancel_id=11111111-1111-1111-1111-111111111111 cancelled_tasks=2 updated_photos=2",
    f"{ts(35)} [AI][Cancel] RECEIVED user=6 client_cancel_id=22222222-2222-2222-2222-222222222222 run_id=None meal_id=None "
    "meal_photo_ids=0 task_ids=0 request_id=bbbb reason=not_specified",
    f"{ts(36)} [AI][Cancel] NOOP user=6 client_cancel_id=22222222-2222-2222-2222-222222222222 (no active tasks/photos to cancel)",
    f"{ts(37)} [AI][Cancel] RECEIVED user=5 client_cancel_id=11111111-1111-1111-1111-111111111111 run_id=3 meal_id=7 "
    "meal_photo_ids=2 task_ids=2 request_id=cccc reason=user_cancel",
    f"{ts(38)} [AI][Cancel] DUPLICATE client_cancel_id=11111111-1111-1111-1111-111111111111 (already processed), returning cached result",
    f'{ts(39)} 127.0.0.1 - - [15/Jan/2026:13:00:39 +0300] "GET /api/v1/meals/?date=2026-01-15 HTTP/1.1" 200 512',
]
