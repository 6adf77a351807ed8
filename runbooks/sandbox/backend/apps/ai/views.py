"""AI endpoints: the real cancel endpoints (the batch one and the legacy per-task one the
frontend still calls), plus the driver endpoints a phone would use (upload a photo for
recognition, poll its task) and a health probe."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.nutrition.auth import json_body, telegram_auth
from apps.nutrition.models import Meal, MealPhoto
from runbooks.sandbox.aierrors import OUTCOMES


def _ctx() -> Any:
    from runbooks.sandbox import taskqueue
    from runbooks.sandbox.ctx import Ctx
    from runbooks.sandbox.djangoenv import current_state
    from runbooks.sandbox.paths import StatePaths

    paths = StatePaths(current_state())
    return Ctx(paths, live=True, revoke=lambda task_id: taskqueue.revoke(paths, task_id))


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


@csrf_exempt
@telegram_auth
def cancel(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    from runbooks.sandbox import flow

    ctx, at = _ctx(), _now()
    data = json_body(request)
    status, body = flow.cancel(ctx, request.user, data, at, request.headers.get("X-Request-ID"))
    if status == 200 and not ctx.fault("cancel_no_finalize"):
        from runbooks.sandbox import timing

        timing.finalize_after_cancel(ctx, request.user, data.get("meal_id"), at)
    return JsonResponse(body, status=status)


@csrf_exempt
@telegram_auth
def legacy_cancel(request: HttpRequest, task_id: str) -> JsonResponse:
    """``POST /api/v1/ai/task/<task_id>/cancel/`` (no body): marks the task's photo CANCELLED if
    it is still active and finalizes its meal here, in the backend; revokes the task."""
    if request.method != "POST":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    from runbooks.sandbox import flow

    photo = _photo_for_task(request, task_id)
    status, body = flow.legacy_cancel(_ctx(), request.user, task_id, _now(), photo_id=photo.id if photo else None,
                                      request_id=request.headers.get("X-Request-ID") or "")
    return JsonResponse(body, status=status)


@csrf_exempt
@telegram_auth
def recognize(request: HttpRequest) -> JsonResponse:
    """Driver: upload one photo, as the Mini App does (multipart: ``image`` a JPEG/PNG file,
    ``meal_type``, ``date``, optional ``meal_id`` (add to a meal), optional ``user_comment``)
    or as JSON. Sandbox-only fields: ``sandbox_outcome`` (success, hang, or a handled AI failure:
    fail = server_500, server_503, unsupported, empty), ``sandbox_delay`` (seconds of
    recognition; without it the time varies like real recognition: see timing)."""
    if request.method != "POST":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    from runbooks.sandbox import flow, taskqueue

    data = json_body(request)
    outcome = str(data.get("sandbox_outcome") or "success")
    if outcome not in OUTCOMES:
        return JsonResponse({"error": f"sandbox_outcome must be one of {', '.join(OUTCOMES)}"}, status=400)
    meal = None
    if data.get("meal_id"):
        meal = Meal.objects.filter(id=data["meal_id"], user=request.user).first()
        if meal is None:
            return JsonResponse({"error": "meal not found"}, status=404)
    from runbooks.sandbox import timing

    problem = timing.image_problem(request)
    if problem:
        return JsonResponse({"error": problem}, status=400)
    ctx = _ctx()
    try:
        given = data.get("sandbox_delay")
        delay = float(given) if given not in (None, "") else None
    except (TypeError, ValueError):
        return JsonResponse({"error": "sandbox_delay must be a number"}, status=400)
    meal_type = data.get("meal_type")
    if meal_type is not None and meal_type not in Meal.MealType.values:
        return JsonResponse({"error": f"meal_type must be one of {', '.join(Meal.MealType.values)}"}, status=400)
    import uuid

    meal, photo, task_id = flow.upload_photo(ctx, request.user, _now(), meal=meal, meal_type=meal_type,
                                             meal_date=data.get("date"), task_id=str(uuid.uuid4()))
    if delay is None:
        delay = timing.recognition_delay(ctx, photo.id)
    taskqueue.enqueue(ctx.paths, {"task_id": task_id, "photo_id": photo.id, "outcome": outcome, "delay": delay})
    return JsonResponse({"task_id": task_id, "meal_id": meal.id, "meal_photo_id": photo.id,
                         "status": "processing"}, status=202)


@telegram_auth
def task_status(request: HttpRequest, task_id: str) -> JsonResponse:
    """Driver: poll a recognition task (by the photo it was created for)."""
    photo = MealPhoto.objects.filter(meal__user=request.user, recognized_data__meta__task_id=task_id).first()
    if photo is None:
        photo = _photo_for_task(request, task_id)
    if photo is None:
        return JsonResponse({"error": "task not found"}, status=404)
    return JsonResponse({"task_id": task_id, "status": photo.status, "meal_id": photo.meal_id,
                         "meal_photo_id": photo.id, "meal_status": photo.meal.status,
                         "result": photo.recognized_data or None})


def _photo_for_task(request: HttpRequest, task_id: str) -> MealPhoto | None:
    import json

    from runbooks.sandbox.djangoenv import current_state
    from runbooks.sandbox.paths import StatePaths

    paths = StatePaths(current_state())
    for sub in ("pending", "claimed"):
        d = paths.queue / sub
        if not d.exists():
            continue
        for f in d.glob(f"*-{task_id}.json"):
            pid = json.loads(f.read_text())["photo_id"]
            return MealPhoto.objects.filter(id=pid, meal__user=request.user).first()
    return None


def health(request: HttpRequest) -> JsonResponse:
    from runbooks.sandbox import containers
    from runbooks.sandbox.djangoenv import current_state
    from runbooks.sandbox.paths import StatePaths

    paths = StatePaths(current_state())
    worker = containers.get(paths, paths.load_config().worker_container) or {}
    return JsonResponse({"ok": True, "worker": worker.get("status", "missing")})
