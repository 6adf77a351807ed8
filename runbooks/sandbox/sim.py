"""Plays one meal's life on a timeline: uploads, worker picks, results, cancels, in time order.

All times are explicit, so a whole day can be generated in the past with DB rows and log
lines that agree. Concurrency is the worker's (2): a photo starts when a slot is free.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from runbooks.sandbox import flow
from runbooks.sandbox.ctx import Ctx


@dataclass
class PhotoPlan:
    outcome: str = "success"          # success | hang (task dies, photo stays PROCESSING) | a handled
    #                                   AI failure: fail (= server_500), server_503, unsupported, empty
    duration: float = 4.0             # seconds of recognition
    timeout_at: float | None = None   # watchdog marks it FAILED at t0 + this (race guard FAILED)


@dataclass
class MealPlan:
    photos: list[PhotoPlan]
    upload_gap: float = 0.8
    cancel_at: float | None = None    # seconds after t0
    cancel_body_extra: dict[str, Any] = field(default_factory=dict)
    cancel_photo_ids: bool = True
    cancel_task_ids: bool = True
    duplicate_after: float | None = None  # resend the same cancel this long after it
    reason: str = "user_cancelled"
    meal_type: str | None = None
    view_diary: bool = True
    #: the frontend's Cancel: first the legacy `POST /api/v1/ai/task/<id>/cancel/` for each task
    #: still in flight (it marks the photo and finalizes the meal in the backend), then the batch
    #: `POST /api/v1/ai/cancel/` (which then finds those photos terminal: updated_photos=0).
    #: False: the batch call alone (it never finalizes; the worker's race guard may).
    legacy_cancel: bool = False


@dataclass
class MealRun:
    meal_id: int | None = None
    photo_ids: list[int] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    cancel: dict[str, Any] | None = None
    client_cancel_id: str | None = None
    end: datetime | None = None


def run_meal(ctx: Ctx, user: Any, t0: datetime, plan: MealPlan, concurrency: int = 2) -> MealRun:
    run = MealRun()
    queue: list[tuple[datetime, int, str, int]] = []
    seq = 0

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    def push(when: datetime, action: str, idx: int = -1) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (when, seq, action, idx))

    for i, photo_plan in enumerate(plan.photos):
        push(at(i * plan.upload_gap), "upload", i)
        if photo_plan.timeout_at is not None:
            push(at(photo_plan.timeout_at), "timeout", i)
    if plan.cancel_at is not None:
        push(at(plan.cancel_at), "cancel")
    meal = None
    body: dict[str, Any] = {}
    photos: dict[int, Any] = {}
    started: dict[int, datetime] = {}
    waiting: list[int] = []
    busy = 0
    last = t0
    while queue:
        when, _, action, i = heapq.heappop(queue)
        last = max(last, when)
        if action == "upload":
            meal, photo, task_id = flow.upload_photo(ctx, user, when, meal=meal, meal_type=plan.meal_type)
            photos[i] = photo
            run.photo_ids.append(photo.id)
            run.task_ids.append(task_id)
            push(when + timedelta(milliseconds=ctx.rng.randint(15, 120)), "receive", i)
            for k in range(ctx.rng.randint(1, 2)):
                push(when + timedelta(seconds=1.5 * (k + 1)), "poll", i)
        elif action == "poll":
            ctx.access("GET", f"/api/v1/ai/task/{run.task_ids[i]}/", 200, 96, when)
        elif action == "receive":
            if run.task_ids[i] in ctx.revoked:
                flow.task_discarded(ctx, run.task_ids[i], when)
                continue
            flow.task_received(ctx, run.task_ids[i], when)
            waiting.append(i)
            push(when, "dispatch")
        elif action == "dispatch":
            while waiting and busy < concurrency:
                j = waiting.pop(0)
                if run.task_ids[j] in ctx.revoked:
                    flow.task_discarded(ctx, run.task_ids[j], when)
                    continue
                busy += 1
                flow.task_start(ctx, photos[j].id, when, run.task_ids[j], f"ForkPoolWorker-{1 + j % concurrency}")
                started[j] = when
                if plan.photos[j].outcome != "hang":
                    push(when + timedelta(seconds=plan.photos[j].duration), "finish", j)
        elif action == "finish":
            busy -= 1
            p = plan.photos[i]
            flow.task_finish(ctx, photos[i].id, run.task_ids[i], when, outcome=p.outcome,
                             started_at=started[i], process=f"ForkPoolWorker-{1 + i % concurrency}")
            push(when + timedelta(milliseconds=20), "dispatch")  # the freed process logs its task's end first
        elif action == "timeout":
            flow.mark_failed(ctx, photos[i].id, when)
        elif action == "cancel" and plan.legacy_cancel:
            in_flight = _in_flight(run)
            for n, k in enumerate(in_flight):
                push(when + timedelta(milliseconds=20 * n), "legacy", k)
            push(when + timedelta(milliseconds=20 * len(in_flight) + 15), "batch")
        elif action == "legacy":
            flow.legacy_cancel(ctx, user, run.task_ids[i], when, photo_id=run.photo_ids[i])
        elif action in ("cancel", "batch", "duplicate"):
            if action in ("cancel", "batch"):
                run.client_cancel_id = ctx.uuid()
                body = {"client_cancel_id": run.client_cancel_id,
                        "run_id": ctx.rng.randint(1, 9999), "meal_id": meal.id if meal else None,
                        "meal_photo_ids": list(run.photo_ids) if plan.cancel_photo_ids else [],
                        "task_ids": list(run.task_ids) if plan.cancel_task_ids else [],
                        "reason": plan.reason, **plan.cancel_body_extra}
            _, resp = flow.cancel(ctx, user, body, when)
            if action != "duplicate":
                run.cancel = resp
                if plan.duplicate_after is not None:
                    push(when + timedelta(seconds=plan.duplicate_after), "duplicate")
    if meal is not None:
        run.meal_id = meal.id
        if plan.view_diary:
            local = last.astimezone(flow.MSK).date()
            ctx.access("GET", f"/api/v1/meals/?date={local}", 200, 2400, last + timedelta(seconds=2))
    run.end = last
    return run


def _in_flight(run: MealRun) -> list[int]:
    """Indexes of the meal's photos whose task the frontend still sees running."""
    from apps.nutrition.models import MealPhoto

    active = set(MealPhoto.objects.filter(id__in=run.photo_ids, status__in=flow.ACTIVE).values_list("id", flat=True))
    return [k for k, pid in enumerate(run.photo_ids) if pid in active]
