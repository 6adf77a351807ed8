"""Faults the real backend was seen producing (reference/eatfit24.md, "Observed on the real
backend"): handled AI upstream errors, cancels that do not finalize or that a late task
undoes, an unhandled 500 with its traceback, a changed schema, a worker logging at WARNING.

Registered in ``faultreg.FAULTS`` (``faults`` imports this module); each injector returns the
exact evidence (ids) it created.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from runbooks.sandbox import faultflags, flow
from runbooks.sandbox.ctx import Ctx
from runbooks.sandbox.faultreg import fault
from runbooks.sandbox.sim import MealPlan, PhotoPlan, run_meal
from runbooks.sandbox.timefmt import MSK
from runbooks.sandbox.users import api_user, population

#: what ``schema_changed`` renames in the models a Django shell "inside the container" loads
SCHEMA_RENAMES = {"MealPhoto.status": "processing_status", "Meal.status": "meal_status"}


@fault("ai_upstream_errors")
def _ai_upstream_errors(ctx: Ctx, now: datetime, count: int = 10) -> dict[str, Any]:
    """``count`` photos in the last hour fail upstream (AI proxy 500, every third 503): the
    handled path (`[AI] Proxy error` at ERROR, `[AI:FAILED]`, meal finalized FAILED)."""
    people = population(10)
    meal_ids, photo_ids, statuses = [], [], {"500": 0, "503": 0}
    for i in range(count):
        status = "503" if i % 3 == 2 else "500"
        statuses[status] += 1
        run = run_meal(ctx, people[i % len(people)], now - timedelta(minutes=55) + i * timedelta(minutes=50) / count,
                       MealPlan(photos=[PhotoPlan(outcome=f"server_{status}", duration=2.5)]))
        meal_ids.append(run.meal_id)
        photo_ids += run.photo_ids
    return {"count": count, "photo_ids": photo_ids, "meal_ids": meal_ids, "error_code": "AI_SERVER_ERROR",
            "http_statuses": statuses}


def _queued_photos(ctx: Ctx, user: Any, t0: datetime, n: int) -> tuple[Any, list[int], list[str]]:
    """``n`` photos uploaded to one meal, their tasks received but not started (the worker's
    two slots are busy elsewhere)."""
    meal, photo_ids, task_ids = None, [], []
    for i in range(n):
        at = t0 + timedelta(seconds=0.8 * i)
        meal, photo, task_id = flow.upload_photo(ctx, user, at, meal=meal, meal_date=at.astimezone(MSK).date())
        flow.task_received(ctx, task_id, at + timedelta(milliseconds=40))
        photo_ids.append(photo.id)
        task_ids.append(task_id)
    assert meal is not None
    return meal, photo_ids, task_ids


@fault("cancel_no_finalize")
def _cancel_no_finalize(ctx: Ctx, now: datetime) -> dict[str, Any]:
    """The frontend calls only the batch cancel while the photos' tasks are queued: photos
    CANCELLED, tasks revoked and later discarded, and nothing finalizes the meal. It stays
    PROCESSING with every photo CANCELLED: an empty card in the diary."""
    from apps.nutrition.models import CancelEvent, Meal, MealPhoto

    user = api_user()
    t0 = now - timedelta(minutes=3)
    meal, photo_ids, task_ids = _queued_photos(ctx, user, t0, 2)
    cid = ctx.uuid()
    flow.cancel(ctx, user, {"client_cancel_id": cid, "run_id": ctx.rng.randint(1, 9999), "meal_id": meal.id,
                            "meal_photo_ids": photo_ids, "task_ids": task_ids, "reason": "user_cancel"},
                t0 + timedelta(seconds=2.5))
    for k, task_id in enumerate(task_ids):
        flow.task_discarded(ctx, task_id, t0 + timedelta(seconds=6 + k * 0.01))
    assert Meal.objects.get(id=meal.id).status == "PROCESSING"
    assert set(MealPhoto.objects.filter(meal=meal).values_list("status", flat=True)) == {"CANCELLED"}
    event = CancelEvent.objects.get(client_cancel_id=cid)
    faultflags.set_flag(ctx.paths, "cancel_no_finalize")  # and from now on the live batch cancel does not finalize
    return {"meal_id": meal.id, "photo_ids": photo_ids, "task_ids": task_ids, "cancel_event_id": event.id,
            "client_cancel_id": cid, "date": str(meal.date)}


def _late_task_succeeds(ctx: Ctx, photo_id: int, task_id: str, at: datetime) -> list[int]:
    """The worker comes back and runs the task its revoke never reached: PROCESSING, SUCCESS
    with items, the meal finalized COMPLETE. Returns the meal's FoodItem ids."""
    from apps.nutrition.models import FoodItem, MealPhoto

    flow.task_received(ctx, task_id, at)
    flow.task_start(ctx, photo_id, at + timedelta(milliseconds=5), task_id)
    assert MealPhoto.objects.get(id=photo_id).status == "PROCESSING"
    flow.task_finish(ctx, photo_id, task_id, at + timedelta(seconds=4), started_at=at + timedelta(milliseconds=5),
                     process="ForkPoolWorker-1")
    meal_id = MealPhoto.objects.get(id=photo_id).meal_id
    return sorted(FoodItem.objects.filter(meal_id=meal_id).values_list("id", flat=True))


@fault("cancelled_photo_resurrected")
def _cancelled_photo_resurrected(ctx: Ctx, now: datetime) -> dict[str, Any]:
    """A batch cancel updates a PENDING photo (updated_photos=1) while the worker is down, so
    the revoke reaches no worker; when the worker is back the task runs and the cancelled
    photo ends SUCCESS with items, its meal COMPLETE: the cancelled photo is in the diary."""
    from apps.nutrition.models import CancelEvent, Meal, MealPhoto

    user = api_user()
    t0 = now - timedelta(minutes=4)
    meal, photo, task_id = flow.upload_photo(ctx, user, t0, meal_date=t0.astimezone(MSK).date())
    cid = ctx.uuid()
    flow.cancel(ctx, user, {"client_cancel_id": cid, "run_id": ctx.rng.randint(1, 9999), "meal_id": meal.id,
                            "meal_photo_ids": [photo.id], "task_ids": [task_id], "reason": "user_cancel"},
                t0 + timedelta(seconds=3))
    event = CancelEvent.objects.get(client_cancel_id=cid)
    assert event.updated_photos == 1
    items = _late_task_succeeds(ctx, photo.id, task_id, t0 + timedelta(seconds=75))
    assert MealPhoto.objects.get(id=photo.id).status == "SUCCESS"
    assert Meal.objects.get(id=meal.id).status == "COMPLETE"
    return {"photo_id": photo.id, "meal_id": meal.id, "cancel_event_id": event.id, "client_cancel_id": cid,
            "task_id": task_id, "food_item_ids": items}


@fault("legacy_cancel_resurrected")
def _legacy_cancel_resurrected(ctx: Ctx, now: datetime) -> dict[str, Any]:
    """The same through the legacy endpoint: `Mark MealPhoto N as CANCELLED immediately` (and
    the meal finalized FAILED in the backend) while the worker is down; the task runs later and
    the photo ends SUCCESS with items, the meal COMPLETE."""
    from apps.nutrition.models import Meal, MealPhoto

    user = api_user()
    t0 = now - timedelta(minutes=4)
    meal, photo, task_id = flow.upload_photo(ctx, user, t0, meal_date=t0.astimezone(MSK).date())
    flow.legacy_cancel(ctx, user, task_id, t0 + timedelta(seconds=3), photo_id=photo.id)
    assert Meal.objects.get(id=meal.id).status == "FAILED"
    items = _late_task_succeeds(ctx, photo.id, task_id, t0 + timedelta(seconds=75))
    assert MealPhoto.objects.get(id=photo.id).status == "SUCCESS"
    assert Meal.objects.get(id=meal.id).status == "COMPLETE"
    return {"photo_id": photo.id, "meal_id": meal.id, "task_id": task_id, "food_item_ids": items,
            "mark_line": f"[AI] Mark MealPhoto {photo.id} as CANCELLED immediately"}


def _frame(path: str, line: int, func: str, code: str, caret_at: str | None = None) -> list[str]:
    """One frame as Python 3.12 prints it; ``caret_at``: where its ``^^^`` marks start."""
    out = [f'  File "{path}", line {line}, in {func}', f"    {code}"]
    if caret_at is not None:
        k = code.index(caret_at)
        out.append(" " * (4 + k) + "^" * (len(code) - k))
    return out


DJ = "/usr/local/lib/python3.12/site-packages/django"
NOT_NULL = 'null value in column "recognized_data" of relation "nutrition_meal_photos" violates not-null constraint'


def traceback_500(photo_id: int, meal_id: int, image: str, created: datetime) -> list[str]:
    """The real backend's unhandled-exception block for a retried upload (same shape as
    reference/real-logs/backend.json.log: psycopg2 error, then Django's, chained)."""
    row = f"DETAIL:  Failing row contains ({photo_id}, {image}, null, PENDING, null, {created:%Y-%m-%d %H:%M:%S.%f}+00, {meal_id}, null)."
    execute = _frame(f"{DJ}/db/backends/utils.py", 105, "_execute", "return self.cursor.execute(sql, params)",
                     "self")
    lines = [f"[AIRecognitionView] Unhandled exception: {NOT_NULL}", row, "Traceback (most recent call last):",
             *execute, f"psycopg2.errors.NotNullViolation: {NOT_NULL}", row, "", "",
             "The above exception was the direct cause of the following exception:", "",
             "Traceback (most recent call last):",
             *_frame("/usr/local/lib/python3.12/site-packages/rest_framework/views.py", 512, "dispatch",
                     "response = handler(request, *args, **kwargs)", "handler"),
             *_frame("/app/apps/ai/views.py", 157, "post",
                     'meal_photo.save(update_fields=["status", "error_message", "recognized_data"])'),
             *_frame(f"{DJ}/db/models/base.py", 874, "save", "self.save_base("),
             *_frame(f"{DJ}/db/models/base.py", 966, "save_base", "updated = self._save_table(", "self"),
             *_frame(f"{DJ}/db/models/base.py", 1110, "_save_table", "results = self._do_update(", "self"),
             *_frame(f"{DJ}/db/models/sql/compiler.py", 1624, "execute_sql", "cursor.execute(sql, params)"),
             *_frame(f"{DJ}/db/backends/utils.py", 79, "execute", "return self._execute_with_wrappers(", "self"),
             *_frame(f"{DJ}/db/backends/utils.py", 100, "_execute", "with self.db.wrap_database_errors:"),
             *_frame(f"{DJ}/db/utils.py", 94, "__exit__", "raise dj_exc_value.with_traceback(traceback) from exc_value"),
             *execute, f"django.db.utils.IntegrityError: {NOT_NULL}", row, "",
             "Internal Server Error: /api/v1/ai/recognize/"]
    return lines


@fault("backend_500")
def _backend_500(ctx: Ctx, now: datetime) -> dict[str, Any]:
    """A retried upload hits the app's NOT NULL error: the backend logs the unhandled
    exception with its chained traceback, `Internal Server Error: /api/v1/ai/recognize/`, and
    gunicorn's access line with 500. The DB is unchanged (the transaction rolled back)."""
    run = run_meal(ctx, api_user(), now - timedelta(minutes=3), MealPlan(photos=[PhotoPlan(duration=3.0)]))
    from apps.nutrition.models import MealPhoto

    photo = MealPhoto.objects.get(id=run.photo_ids[0])
    at = now - timedelta(minutes=2)
    lines = traceback_500(photo.id, photo.meal_id, photo.image, photo.created_at)
    for line in lines:
        ctx.backend(line, at, stream="stderr")
    ctx.access("POST", "/api/v1/ai/recognize/", 500, 113, at + timedelta(milliseconds=1))
    ctx.event("backend_500", at, path="/api/v1/ai/recognize/", photo_id=photo.id)
    return {"path": "/api/v1/ai/recognize/", "status": 500, "exception": "django.db.utils.IntegrityError",
            "photo_id": photo.id, "meal_id": photo.meal_id, "traceback_blocks": 2, "lines": len(lines) + 1}


@fault("schema_changed")
def _schema_changed(ctx: Ctx, now: datetime) -> dict[str, Any]:
    """A migration renamed the status fields: a Django shell in the backend container still
    boots (``import django``, the apps load) but ``MealPhoto.objects.filter(status=...)``
    raises FieldError. The sandbox's own simulator keeps the old names, so other faults (a
    real stuck photo) can still be injected meanwhile."""
    faultflags.set_flag(ctx.paths, "schema_changed")
    return {"flag": "schema_changed", "renamed": dict(SCHEMA_RENAMES),
            "error": "django.core.exceptions.FieldError: Cannot resolve keyword 'status' into field"}


@fault("worker_log_warning")
def _worker_log_warning(ctx: Ctx, now: datetime) -> dict[str, Any]:
    """The worker runs with ``-l WARNING``: Celery drops INFO records, so after a restart or
    recreate there is no ``celery@<host> ready.`` line (nor any INFO task line)."""
    faultflags.set_flag(ctx.paths, "worker_log_warning")
    return {"flag": "worker_log_warning", "log_level": "WARNING", "ready_line": False}
