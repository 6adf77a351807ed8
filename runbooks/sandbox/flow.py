"""eatfit24's cancel flow, as service functions shared by the API views, the live worker and
the simulator (reference/eatfit24.md, "What the code does"). Every state change writes the
real log line at the same moment it stamps into the database.

Import only after ``djangoenv.activate`` (it needs the Django app registry).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from apps.nutrition.models import CancelEvent, FoodItem, Meal, MealPhoto
from django.db import IntegrityError, transaction

from runbooks.sandbox import aierrors, food
from runbooks.sandbox.ctx import Ctx
from runbooks.sandbox.timefmt import MSK

TASK = "apps.ai.tasks.recognize_food_async"
ACTIVE = (MealPhoto.Status.PENDING, MealPhoto.Status.PROCESSING)
TERMINAL = (MealPhoto.Status.SUCCESS, MealPhoto.Status.FAILED, MealPhoto.Status.CANCELLED)


class FinalizationError(RuntimeError):
    """Raised inside finalization by the ``finalization_exception`` fault."""


# ------------------------------------------------------------------ upload (API)

def upload_photo(ctx: Ctx, user: Any, at: datetime, meal: Meal | None = None,
                 meal_type: str | None = None, meal_date: Any = None,
                 task_id: str | None = None) -> tuple[Meal, MealPhoto, str]:
    """``POST /api/v1/ai/recognize/``: a photo PENDING on a (new) meal, task enqueued; the
    backend's lines as the real view writes them (bare messages, then gunicorn's access line)."""
    local = at.astimezone(MSK)
    if meal is None:
        meal = Meal.objects.create(user=user, meal_type=meal_type or meal_type_for(local.hour),
                                   date=meal_date or local.date(), status=Meal.Status.DRAFT,
                                   created_at=at)
        ctx.backend(f"[MealService] Created new draft meal_id={meal.id} for user_id={user.id} "
                    f"(type={meal.meal_type}, date={meal.date})", at)
    else:
        ctx.backend(f"[MealService] Using existing meal_id={meal.id} for user_id={user.id}", at)
    photo = MealPhoto.objects.create(
        meal=meal, image=f"meal_photos/{local:%Y/%m/%d}/{ctx.uuid()}.jpg",
        status=MealPhoto.Status.PENDING, created_at=at)
    if meal.status != Meal.Status.PROCESSING:
        meal.status = Meal.Status.PROCESSING
        meal.save(update_fields=["status"])
    task_id = task_id or ctx.uuid()
    ctx.backend(f"[AI] Created MealPhoto id={photo.id} for meal_id={meal.id} user_id={user.id} "
                f"rid={rid_for(task_id)}", at)
    ctx.access("POST", "/api/v1/ai/recognize/", 202, 118, at)
    ctx.event("upload", at, meal_id=meal.id, photo_id=photo.id, task_id=task_id)
    return meal, photo, task_id


def meal_type_for(hour: int) -> str:
    if 5 <= hour < 11:
        return Meal.MealType.BREAKFAST
    if 11 <= hour < 16:
        return Meal.MealType.LUNCH
    if 16 <= hour < 22:
        return Meal.MealType.DINNER
    return Meal.MealType.SNACK


# ------------------------------------------------------------------ AI task (worker)

def task_received(ctx: Ctx, task_id: str, at: datetime) -> None:
    ctx.worker(f"Task {TASK}[{task_id}] received", at, process="MainProcess")


def task_discarded(ctx: Ctx, task_id: str, at: datetime) -> None:
    """A revoked task reaches the worker: Celery drops it without running it."""
    ctx.worker(f"Discarding revoked task: {TASK}[{task_id}]", at, process="MainProcess")
    ctx.event("revoked_discarded", at, task_id=task_id)


def rid_for(task_id: str) -> str:
    """The request id the task logs as ``rid=``/``trace_id=`` (32 hex digits), stable per task."""
    return hashlib.md5(task_id.encode(), usedforsecurity=False).hexdigest()


def task_start(ctx: Ctx, photo_id: int, at: datetime, task_id: str | None = None,
               process: str = "ForkPoolWorker-1") -> bool:
    """The task begins: the photo goes PROCESSING, as the real task sets it, whatever a cancel
    did meanwhile (only a finished photo is left alone). So a task that runs after its photo
    was cancelled (its revoke never reached a worker) resurrects it; False if nothing changed.
    With ``task_id``, the real task's ``[AI] start`` line is written."""
    changed = MealPhoto.objects.filter(id=photo_id).exclude(status=MealPhoto.Status.SUCCESS).exclude(
        status=MealPhoto.Status.PROCESSING).update(status=MealPhoto.Status.PROCESSING) == 1
    if task_id is not None:
        photo = MealPhoto.objects.select_related("meal").get(id=photo_id)
        meal = photo.meal
        ctx.worker(f"[AI] start task={task_id} meal_id={meal.id} photo_id={photo.id} type={meal.meal_type} "
                   f"date={meal.date} rid={rid_for(task_id)} user_id={meal.user_id}", at, "INFO", process)
    return changed


def task_finish(ctx: Ctx, photo_id: int, task_id: str, at: datetime, outcome: str = "success",
                started_at: datetime | None = None, process: str = "ForkPoolWorker-1",
                items: list[dict] | None = None) -> dict[str, Any]:
    """Recognition is done: race guard, results, finalization (the real task's body). The
    lines and the result dict Celery prints follow the real worker log."""
    result: dict[str, Any]
    rid = rid_for(task_id)
    after: list[str] = []  # the task's own lines after finalization
    with transaction.atomic():
        photo = MealPhoto.objects.select_for_update().get(id=photo_id)
        meal = Meal.objects.select_for_update().get(id=photo.meal_id)
        guard = not ctx.fault("race_guard_off")
        failure = aierrors.failure_for(outcome) if outcome != "success" else None
        if failure is None:
            ctx.worker(f"[AI Proxy] Request to {aierrors.PROXY_URL} | status=200 | trace_id={rid} | "
                       "response_preview=empty", at, "INFO", process)
        if photo.status in (MealPhoto.Status.CANCELLED, MealPhoto.Status.FAILED) and guard:
            ctx.worker(f"[AI] Photo {photo.id} is in terminal state {photo.status}, "
                       "discarding results (race condition guard)", at, "INFO", process)
            ctx.event("race_guard", at, photo_id=photo.id, meal_id=meal.id, state=photo.status)
            result = {"error": str(photo.status), "error_message": photo.get_status_display(), "items": [],
                      "meal_id": meal.id, "meal_photo_id": photo.id, "owner_id": meal.user_id}
        elif failure is not None:
            photo.status = MealPhoto.Status.FAILED
            photo.error_code = failure.error_code
            photo.error_message = failure.user_message
            photo.save(update_fields=["status", "error_code", "error_message"])
            aierrors.log_before_finalize(ctx, failure, task_id=task_id, rid=rid, photo_id=photo.id,
                                         meal_id=meal.id, user_id=meal.user_id, at=at, process=process)
            ctx.event("ai_failed", at, photo_id=photo.id, meal_id=meal.id, error_code=failure.error_code,
                      outcome=failure.outcome)
            result = aierrors.task_result(failure, rid=rid, meal_id=meal.id, photo_id=photo.id,
                                          owner_id=meal.user_id)
            at = at + timedelta(milliseconds=12)
        else:
            items = items if items is not None else food.plate(ctx.rng)
            FoodItem.objects.bulk_create([
                FoodItem(meal=meal, name=i["name"], grams=i["grams"], calories=i["calories"],
                         protein=i["protein"], fat=i["fat"], carbohydrates=i["carbohydrates"],
                         created_at=at, updated_at=at) for i in items])
            took = (at - started_at).total_seconds() if started_at else 3.0
            totals = food.totals(items)
            photo.recognized_data = {"items": items, "totals": totals,
                                     "meta": {"model": "vision-v2", "task_id": task_id, "request_id": rid,
                                              "processing_ms": int(took * 1000)}}
            if photo.status in (MealPhoto.Status.CANCELLED, MealPhoto.Status.FAILED):
                # race guard disabled: results land, the status update's filter misses
                photo.save(update_fields=["recognized_data"])
                ctx.event("race_guard_bypassed", at, photo_id=photo.id, meal_id=meal.id,
                          state=photo.status)
            else:
                photo.status = MealPhoto.Status.SUCCESS
                photo.save(update_fields=["recognized_data", "status"])
                ctx.event("success", at, photo_id=photo.id, meal_id=meal.id, items=len(items))
            ctx.worker(f"[AI] MealPhoto {photo.id} updated to SUCCESS with {len(items)} items",
                       at, "INFO", process)
            after = [f"[AI] usage incremented user_id={meal.user_id} task={task_id}",
                     f"[AI] done task={task_id} meal_id={meal.id} photo_id={photo.id} rid={rid} "
                     f"items={len(items)} kcal={totals['calories']}"]
            result = {"meal_id": meal.id, "meal_photo_id": photo.id,
                      "items": [{"name": i["name"], "amount_grams": i["grams"], "calories": i["calories"],
                                 "protein": i["protein"], "fat": i["fat"], "carbohydrates": i["carbohydrates"],
                                 "confidence": i.get("confidence")} for i in items],
                      "total_calories": totals["calories"], "totals": totals,
                      "meta": {"request_id": rid, "confidence": 0.93, "final_status": "success", "is_food": True,
                               "trace_id": rid}, "owner_id": meal.user_id}
        finalize(ctx, meal, at, process)
    for k, line in enumerate(after, start=1):
        ctx.worker(line, at + timedelta(milliseconds=k), "INFO", process)
    took = (at - started_at).total_seconds() if started_at else 3.0
    ctx.worker(f"Task {TASK}[{task_id}] succeeded in {took}s: {result!r}", at + timedelta(milliseconds=3),
               process=process)
    return result


def finalize(ctx: Ctx, meal: Meal, at: datetime, process: str = "ForkPoolWorker-1",
             explode: bool = False, log: str = "worker") -> str | None:
    """MealService.finalize: PROCESSING while a photo is active, else COMPLETE/FAILED.

    Logs (and returns) only real transitions, so finalized lines count meals. ``log`` is the
    container whose process runs it: "worker" (the AI task) or "backend" (the legacy cancel
    endpoint finalizes inside a gunicorn worker: bare message, no Celery prefix).
    """
    def write(text: str) -> None:
        if log == "backend":
            ctx.backend(text, at)
        else:
            ctx.worker(text, at, "INFO", process)

    statuses = list(meal.photos.values_list("status", flat=True))
    if not statuses:
        write(f"[MealService] Meal {meal.id} has no photos, deleting orphan")
        ctx.event("orphan_deleted", at, meal_id=meal.id)
        meal.delete()
        return None
    if explode:
        raise FinalizationError(f"could not finalize meal {meal.id}")
    if any(s in ACTIVE for s in statuses):
        if meal.status != Meal.Status.PROCESSING:
            meal.status = Meal.Status.PROCESSING
            meal.save(update_fields=["status"])
        return None
    target = Meal.Status.COMPLETE if MealPhoto.Status.SUCCESS in statuses else Meal.Status.FAILED
    if meal.status == target:
        return None
    meal.status = target
    meal.save(update_fields=["status"])
    if target == Meal.Status.COMPLETE:
        write(f"[MealService] Finalized meal_id={meal.id} as COMPLETE")
    else:
        write(f"[MealService] Finalized meal_id={meal.id} as FAILED (all photos failed/cancelled)")
    ctx.event("finalized", at, meal_id=meal.id, status=target, container=log)
    return target


def mark_failed(ctx: Ctx, photo_id: int, at: datetime, code: str = "TIMEOUT") -> None:
    """The processing watchdog gives up on a photo (its task may still finish later)."""
    MealPhoto.objects.filter(id=photo_id, status__in=ACTIVE).update(
        status=MealPhoto.Status.FAILED, error_code=code,
        error_message="Распознавание заняло слишком много времени")
    ctx.event("photo_timeout", at, photo_id=photo_id)


# ------------------------------------------------------------------ cancel endpoint

def cancel(ctx: Ctx, user: Any, body: dict[str, Any], at: datetime,
           request_id: str | None = None) -> tuple[int, dict[str, Any]]:
    """``POST /api/v1/ai/cancel/``; returns (http status, response body)."""
    request_id = request_id or ctx.uuid()
    try:
        client_cancel_id = str(uuid.UUID(str(body.get("client_cancel_id"))))
    except (ValueError, TypeError):
        return 400, {"error": "client_cancel_id is required and must be a UUID"}
    photo_ids = [int(i) for i in body.get("meal_photo_ids") or []]
    task_ids = [str(t) for t in body.get("task_ids") or []]
    run_id, meal_id = body.get("run_id"), body.get("meal_id")
    reason = body.get("reason") or "not_specified"
    ctx.access("POST", "/api/v1/ai/cancel/", 200, 132, at + timedelta(milliseconds=40))
    ctx.backend(f"[AI][Cancel] RECEIVED user={user.id} client_cancel_id={client_cancel_id} "
                f"run_id={run_id} meal_id={meal_id} meal_photo_ids={len(photo_ids)} "
                f"task_ids={len(task_ids)} request_id={request_id} reason={reason}", at)
    existing = CancelEvent.objects.filter(client_cancel_id=client_cancel_id).first()
    if existing is not None:
        ctx.backend(f"[AI][Cancel] DUPLICATE client_cancel_id={client_cancel_id} "
                    "(already processed), returning cached result", at)
        ctx.event("cancel_duplicate", at, client_cancel_id=client_cancel_id)
        return 200, _response(existing, "Cancel already processed")
    meal = None
    if meal_id is not None:
        meal = Meal.objects.filter(id=meal_id, user=user).first()
        if meal is None:
            ctx.backend(f"[AI][Cancel] MEAL_MISSING meal_id={meal_id} user={user.id} "
                        "(deleted or not owned)", at)
    cancelled_tasks = 0
    for task_id in task_ids:
        ctx.revoke(task_id)
        ctx.backend(f"[AI][Cancel] REVOKED task_id={task_id}", at)
        cancelled_tasks += 1
    updated_ids: list[int] = []
    if photo_ids and not ctx.fault("cancel_not_applied"):
        qs = MealPhoto.objects.filter(id__in=photo_ids, meal__user=user).exclude(status__in=TERMINAL)
        if meal is not None:
            qs = qs.filter(meal=meal)
        updated_ids = sorted(qs.values_list("id", flat=True))
        MealPhoto.objects.filter(id__in=updated_ids).update(status=MealPhoto.Status.CANCELLED)
        if updated_ids:
            ctx.backend(f"[AI][Cancel] UPDATED_PHOTOS count={len(updated_ids)} "
                        f"meal_photo_ids={updated_ids!r} user={user.id}", at)
    noop = cancelled_tasks == 0 and not updated_ids
    payload = {"run_id": run_id, "meal_id": meal_id, "meal_photo_ids": photo_ids,
               "task_ids": task_ids, "reason": reason}
    try:
        with transaction.atomic():
            event = CancelEvent.objects.create(
                user=user, client_cancel_id=client_cancel_id, run_id=run_id, meal=meal,
                payload=payload, cancelled_tasks=cancelled_tasks, updated_photos=len(updated_ids),
                noop=noop, created_at=at)
    except IntegrityError:
        ctx.backend(f"[AI][Cancel] RACE_CONDITION client_cancel_id={client_cancel_id} "
                    "(another request won), fetching existing", at)
        event = CancelEvent.objects.get(client_cancel_id=client_cancel_id)
        return 200, _response(event, "Cancel already processed")
    ctx.backend(f"[AI][Cancel] EVENT_SAVED id={event.id} user={user.id} "
                f"client_cancel_id={client_cancel_id} meal={meal.id if meal else None} noop={noop}", at)
    if noop:
        ctx.backend(f"[AI][Cancel] NOOP user={user.id} client_cancel_id={client_cancel_id} "
                    "(no active tasks/photos to cancel)", at)
    ctx.backend(f"[AI][Cancel] PROCESSED user={user.id} client_cancel_id={client_cancel_id} "
                f"cancelled_tasks={cancelled_tasks} updated_photos={len(updated_ids)}", at)
    ctx.event("cancel", at, event_id=event.id, noop=noop, updated_photos=len(updated_ids),
              photo_ids=updated_ids, meal_id=meal.id if meal else None)
    return 200, _response(event, "Cancel processed" if not noop else "Nothing to cancel")


# ------------------------------------------------------------------ legacy cancel endpoint

def legacy_cancel(ctx: Ctx, user: Any, task_id: str, at: datetime, photo_id: int | None = None,
                  request_id: str = "") -> tuple[int, dict[str, Any]]:
    """``POST /api/v1/ai/task/<task_id>/cancel/`` (no body), still called by the frontend.

    Unlike the batch endpoint it FINALIZES the meal, inside the backend, and only when it
    changed an active photo: the order of its lines follows the real backend log
    (``Finalized`` when the meal became final, ``Mark ...``, ``Task cancelled ...``). Its
    revoke does not terminate a running task, so that task still ends in the race guard.
    """
    photo = MealPhoto.objects.select_related("meal").filter(id=photo_id, meal__user=user).first() \
        if photo_id is not None else None
    marked = False
    if photo is not None and photo.status in ACTIVE:
        MealPhoto.objects.filter(id=photo.id).update(status=MealPhoto.Status.CANCELLED)
        finalize(ctx, photo.meal, at, log="backend")
        ctx.backend(f"[AI] Mark MealPhoto {photo.id} as CANCELLED immediately", at)
        marked = True
    ctx.revoke(task_id)
    ctx.backend(f"[AI] Task cancelled: task_id={task_id} user_id={user.id} rid={request_id}", at)
    ctx.access("POST", f"/api/v1/ai/task/{task_id}/cancel/", 200, 11, at + timedelta(milliseconds=2))
    ctx.event("legacy_cancel", at, task_id=task_id, photo_id=photo.id if photo else None,
              meal_id=photo.meal_id if photo else None, marked=marked)
    return 200, {"ok": True}


def _response(event: CancelEvent, message: str) -> dict[str, Any]:
    return {"status": "ok", "cancel_received": True, "cancelled_tasks": event.cancelled_tasks,
            "updated_photos": event.updated_photos, "noop": event.noop, "message": message}
