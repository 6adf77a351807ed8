"""Every fault a monitor finding exists for: one registry (faultreg.py), one small deterministic
injector each. An injector returns the exact evidence (ids, counts) and records it in ``faults.json``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from runbooks.sandbox import containers, faultflags, flow, food
from runbooks.sandbox.ctx import Ctx
from runbooks.sandbox.faultreg import FAULTS, fault
from runbooks.sandbox.sim import MealPlan, PhotoPlan, run_meal
from runbooks.sandbox.timefmt import MSK, celery_prefix, utcnow
from runbooks.sandbox.users import api_user, population


def _user(ctx: Ctx) -> Any:
    return api_user()


def _meal_ids(run: Any) -> dict[str, Any]:
    return {"meal_id": run.meal_id, "photo_ids": run.photo_ids}


def _leaky_cancel(ctx: Ctx, at: datetime) -> Any:
    """Scenario C with the race guard missing: the late result lands on the CANCELLED photo."""
    prior = ctx.fault("race_guard_off")
    ctx.force_fault("race_guard_off", True)
    try:
        return run_meal(ctx, _user(ctx), at, MealPlan(photos=[PhotoPlan(duration=4.0)], cancel_at=1.5))
    finally:
        ctx.force_fault("race_guard_off", prior)


@fault("cancelled_photo_with_results")
def _cancelled_with_results(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import FoodItem

    run = _leaky_cancel(ctx, now - timedelta(minutes=3))
    return {**_meal_ids(run), "photo_id": run.photo_ids[0],
            "food_item_ids": sorted(FoodItem.objects.filter(meal_id=run.meal_id).values_list("id", flat=True))}


@fault("failed_photo_with_results")
def _failed_with_results(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import FoodItem

    prior = ctx.fault("race_guard_off")
    ctx.force_fault("race_guard_off", True)
    try:
        run = run_meal(ctx, _user(ctx), now - timedelta(minutes=4),
                       MealPlan(photos=[PhotoPlan(duration=35.0, timeout_at=30.0)]))
    finally:
        ctx.force_fault("race_guard_off", prior)
    return {**_meal_ids(run), "photo_id": run.photo_ids[0],
            "food_item_ids": sorted(FoodItem.objects.filter(meal_id=run.meal_id).values_list("id", flat=True))}


def _non_success_in_api(user: Any | None) -> tuple[list[int], list[int]]:
    from apps.nutrition.models import Meal, MealPhoto

    today = utcnow().astimezone(MSK).date()
    meals = Meal.objects.filter(date=today).exclude(status="FAILED")
    if user is not None:
        meals = meals.filter(user=user)
    photos = MealPhoto.objects.filter(meal__in=meals).exclude(status="SUCCESS")
    return sorted(meals.values_list("id", flat=True)), sorted(photos.values_list("id", flat=True))


@fault("serializer_leak")
def _serializer_leak(ctx: Ctx, now: datetime) -> dict[str, Any]:
    run = run_meal(ctx, _user(ctx), now - timedelta(minutes=2),
                   MealPlan(photos=[PhotoPlan(duration=2.2), PhotoPlan(duration=5.0), PhotoPlan(duration=6.5)],
                            cancel_at=3.5))
    ctx.force_fault("serializer_leak")
    faultflags.set_flag(ctx.paths, "serializer_leak")
    _, api_photos = _non_success_in_api(_user(ctx))
    _, all_photos = _non_success_in_api(None)
    return {**_meal_ids(run), "api_user_non_success_photo_ids": api_photos,
            "all_users_non_success_photo_ids": all_photos, "date": str(now.astimezone(MSK).date())}


@fault("failed_meal_in_api")
def _failed_meal_in_api(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import Meal

    run = run_meal(ctx, _user(ctx), now - timedelta(minutes=2),
                   MealPlan(photos=[PhotoPlan(duration=4.5), PhotoPlan(duration=5.5)], cancel_at=1.2))
    faultflags.set_flag(ctx.paths, "failed_meal_in_api")
    today = now.astimezone(MSK).date()
    ids = sorted(Meal.objects.filter(user=_user(ctx), date=today, status="FAILED").values_list("id", flat=True))
    return {**_meal_ids(run), "api_user_failed_meal_ids": ids, "date": str(today)}


@fault("stuck_photo")
def _stuck_photo(ctx: Ctx, now: datetime) -> dict[str, Any]:
    run = run_meal(ctx, _user(ctx), now - timedelta(minutes=5), MealPlan(photos=[PhotoPlan(outcome="hang")]))
    return {**_meal_ids(run), "photo_id": run.photo_ids[0], "stuck_meal_ids": [run.meal_id]}


@fault("stuck_meal")
def _stuck_meal(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import Meal

    user = _user(ctx)
    t0 = now - timedelta(minutes=3)
    local = t0.astimezone(MSK)
    meal = None
    photo_ids, task_ids = [], []
    for i in range(2):
        meal, photo, task_id = flow.upload_photo(ctx, user, t0 + timedelta(seconds=i), meal=meal,
                                                 meal_date=local.date())
        photo_ids.append(photo.id)
        task_ids.append(task_id)
    assert meal is not None  # the first upload created it
    flow.cancel(ctx, user, {"client_cancel_id": ctx.uuid(), "meal_id": meal.id, "meal_photo_ids": photo_ids,
                            "task_ids": task_ids, "reason": "user_cancelled"}, t0 + timedelta(seconds=2))
    for task_id in task_ids:  # the worker was busy; the revoked tasks arrive later and are dropped
        flow.task_discarded(ctx, task_id, t0 + timedelta(seconds=5))
    assert Meal.objects.get(id=meal.id).status == "PROCESSING"
    return {"meal_id": meal.id, "photo_ids": photo_ids}


@fault("cancel_not_applied")
def _cancel_not_applied(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import CancelEvent

    user = _user(ctx)
    ctx.force_fault("cancel_not_applied")
    faultflags.set_flag(ctx.paths, "cancel_not_applied")
    t0 = now - timedelta(seconds=10)
    meal = None
    photo_ids, task_ids = [], []
    for i in range(2):
        meal, photo, task_id = flow.upload_photo(ctx, user, t0 + timedelta(seconds=0.5 * i), meal=meal)
        flow.task_received(ctx, task_id, t0 + timedelta(seconds=0.5 * i + 0.05))
        flow.task_start(ctx, photo.id, t0 + timedelta(seconds=0.5 * i + 0.06), task_id)
        photo_ids.append(photo.id)
        task_ids.append(task_id)
    assert meal is not None  # the first upload created it
    cid = ctx.uuid()
    flow.cancel(ctx, user, {"client_cancel_id": cid, "meal_id": meal.id, "meal_photo_ids": photo_ids,
                            "reason": "user_cancelled"}, t0 + timedelta(seconds=2))
    event = CancelEvent.objects.get(client_cancel_id=cid)
    return {"cancel_event_id": event.id, "client_cancel_id": cid, "meal_id": meal.id, "photo_ids": photo_ids}


def _cancel_line_counts(ctx: Ctx) -> tuple[int, int, int]:
    from runbooks.sandbox.truth import log_counts

    ctx.flush()
    c = log_counts(ctx.paths)["cancel"]
    return c["RECEIVED"], c["DUPLICATE"], c["NOOP"]


@fault("duplicate_storm")
def _duplicate_storm(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import CancelEvent

    user = _user(ctx)
    received, dups, _ = _cancel_line_counts(ctx)
    t = now - timedelta(minutes=30)
    if not CancelEvent.objects.filter(user=user).exists():
        flow.cancel(ctx, user, {"client_cancel_id": ctx.uuid(), "reason": "user_cancelled"}, t)
        received += 1
    # (dups + k) / (received + k) >= 0.2
    k = max(10, math.ceil((0.2 * received - dups) / 0.8) + 1)
    ids = [str(e) for e in CancelEvent.objects.filter(user=user).values_list("client_cancel_id", flat=True)[:5]]
    for i in range(k):
        flow.cancel(ctx, user, {"client_cancel_id": ids[i % len(ids)], "reason": "user_cancelled"},
                    t + timedelta(seconds=10 * i + 1))
    return {"duplicates_added": k, "client_cancel_ids": sorted(set(ids[:k])),
            "received_total": received + k, "duplicate_total": dups + k}


@fault("noop_spike")
def _noop_spike(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import CancelEvent

    _, _, noops = _cancel_line_counts(ctx)
    k = max(20, 2 * noops + 1)
    people = population(10)
    cids = []
    for i in range(k):
        cid = ctx.uuid()
        cids.append(cid)
        flow.cancel(ctx, people[i % len(people)], {"client_cancel_id": cid, "reason": "user_cancelled"},
                    now - timedelta(minutes=50) + timedelta(seconds=30 * i))
    ids = sorted(CancelEvent.objects.filter(client_cancel_id__in=cids).values_list("id", flat=True))
    return {"noop_added": k, "cancel_event_ids": ids, "noop_total": noops + k}


@fault("finalization_exception")
def _finalization_exception(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from apps.nutrition.models import FoodItem, Meal, MealPhoto

    user = _user(ctx)
    t0 = now - timedelta(minutes=6)
    meal, photo, task_id = flow.upload_photo(ctx, user, t0)
    flow.task_received(ctx, task_id, t0 + timedelta(milliseconds=50))
    flow.task_start(ctx, photo.id, t0 + timedelta(milliseconds=60), task_id)
    at = t0 + timedelta(seconds=4)
    items = food.plate(ctx.rng)
    FoodItem.objects.bulk_create([FoodItem(meal=meal, created_at=at, updated_at=at, **{
        k: i[k] for k in ("name", "grams", "calories", "protein", "fat", "carbohydrates")}) for i in items])
    MealPhoto.objects.filter(id=photo.id).update(status="SUCCESS", recognized_data={
        "items": items, "totals": food.totals(items), "meta": {"model": "vision-v2", "task_id": task_id}})
    p = "ForkPoolWorker-1"
    ctx.worker(f"[AI] MealPhoto {photo.id} updated to SUCCESS with {len(items)} items", at, "INFO", p)
    ctx.event("success", at, photo_id=photo.id, meal_id=meal.id, items=len(items))
    ctx.worker(f"[MealService] Finalization failed for meal_id={meal.id}", at, "ERROR", p, stream="stderr")
    tb = ("Traceback (most recent call last):\n"
          '  File "/app/apps/nutrition/services.py", line 214, in finalize_meal\n'
          "    meal = Meal.objects.select_for_update().get(id=meal_id)\n"
          '  File "/usr/local/lib/python3.12/site-packages/django/db/models/query.py", line 633, in get\n'
          "    num = len(clone)\n"
          "django.db.utils.OperationalError: deadlock detected\n"
          "DETAIL:  Process 4711 waits for ShareLock on transaction 912; blocked by process 4712.")
    ctx.sink.emit(ctx.config.worker_container, tb, at, "stderr")
    ctx.worker(f"Task {flow.TASK}[{task_id}] raised unexpected: OperationalError('deadlock detected')",
               at, "ERROR", p, stream="stderr")
    ctx.event("finalization_exception", at, meal_id=meal.id)
    assert Meal.objects.get(id=meal.id).status == "PROCESSING"
    return {"meal_id": meal.id, "photo_id": photo.id, "task_id": task_id, "traceback_lines": 1,
            "stuck_meal_ids": [meal.id]}


@fault("failed_spike")
def _failed_spike(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from runbooks.sandbox.truth import log_counts

    ctx.flush()
    logs = log_counts(ctx.paths)  # finalizations are logged by the worker and by the backend (legacy cancel)
    w, b = logs["worker"], logs["backend"]
    complete = w["finalized_complete"] + b["finalized_complete"]
    failed = w["finalized_failed"] + b["finalized_failed"]
    k = max(10, math.ceil((0.3 * (complete + failed) - failed) / 0.7) + 1)
    people = population(10)
    meal_ids, photo_ids = [], []
    for i in range(k):
        run = run_meal(ctx, people[i % len(people)], now - timedelta(minutes=55) + i * timedelta(minutes=50) / k,
                       MealPlan(photos=[PhotoPlan(outcome="fail", duration=8.0)]))
        meal_ids.append(run.meal_id)
        photo_ids += run.photo_ids
    return {"meal_ids": meal_ids, "photo_ids": photo_ids, "failed_added": k,
            "finalized_failed_total": failed + k, "finalized_complete_total": complete}


@fault("race_guard_spike")
def _race_guard_spike(ctx: Ctx, now: datetime) -> dict[str, Any]:
    from runbooks.sandbox.truth import log_counts

    ctx.flush()
    w = log_counts(ctx.paths)["worker"]
    current = w["race_guard_cancelled"] + w["race_guard_failed"]
    k = max(10, 2 * current + 1)
    people = population(10)
    photo_ids, meal_ids = [], []
    for i in range(k):
        run = run_meal(ctx, people[i % len(people)], now - timedelta(minutes=58) + i * timedelta(minutes=50) / k,
                       MealPlan(photos=[PhotoPlan(duration=5.0)], cancel_at=1.5))
        photo_ids += run.photo_ids
        meal_ids.append(run.meal_id)
    return {"race_guards_added": k, "photo_ids": photo_ids, "meal_ids": meal_ids,
            "race_guard_total": current + k}


def _flag_fault(name: str) -> None:
    """A fault that only sets a flag the live worker or the docker shim reads."""

    def inject(ctx: Ctx, now: datetime) -> dict[str, Any]:
        faultflags.set_flag(ctx.paths, name)
        return {"flag": name}

    fault(name)(inject)


for _name in ("race_guard_off", "rebuild_fails", "rebuild_hangs", "instant_recognition"):
    _flag_fault(_name)


@fault("worker_down")
def _worker_down(ctx: Ctx, now: datetime) -> dict[str, Any]:
    name = ctx.config.worker_container
    ctx.sink.emit(name, celery_prefix(now, "ERROR", "MainProcess")
                  + "Process 'ForkPoolWorker-1' pid:23 exited with 'signal 9 (SIGKILL)'", now, "stderr")
    ctx.flush()
    containers.set_state(ctx.paths, name, status="exited", exit_code=137,
                         finished_at=containers.docker_stamp(now), oom_killed=True)
    return {"container": name, "status": "exited", "exit_code": 137}


def inject(ctx: Ctx, name: str, **params: Any) -> dict[str, Any]:
    """Inject ``name``; ``params`` go to injectors that take some (``ai_upstream_errors``: count)."""
    if name not in FAULTS:
        raise KeyError(f"unknown fault {name!r} (known: {', '.join(FAULTS)})")
    from django.db import transaction

    now = utcnow()
    with transaction.atomic():
        evidence = FAULTS[name][1](ctx, now, **params)
    ctx.flush()
    faultflags.record(ctx.paths, name, evidence)
    return evidence


# after this module's own (FAULTS keeps the catalog's order)
from runbooks.sandbox import realfaults  # noqa: E402,F401  (registers the faults seen on the real backend)
