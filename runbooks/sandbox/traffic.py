"""A realistic, deterministic day of eatfit24 traffic ending at "now".

Mix (by weight): normal meals (mostly SUCCESS, some handled AI failures: upstream 500/503,
controlled errors, empty results, each logged as the real worker does), partial cancels (A-like),
cancel-all (B/C-like, race guards), late cancels after everything finished
(``updated_photos=0``, legitimate), noop cancels, watchdog timeouts (race guard FAILED),
orphans, and rare duplicate cancel resends; plus gunicorn/celery noise lines. A cancel is what
the frontend sends: the legacy per-task cancel for each task still in flight, then the batch one,
so every meal ends finalized (by the worker, or by the backend's legacy cancel path).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from runbooks.sandbox import flow
from runbooks.sandbox.ctx import Ctx
from runbooks.sandbox.sim import MealPlan, PhotoPlan, run_meal
from runbooks.sandbox.timefmt import utcnow
from runbooks.sandbox.users import population

KINDS: list[tuple[str, float]] = [
    ("normal", 0.80), ("partial_cancel", 0.07), ("cancel_all", 0.015), ("late_cancel", 0.04),
    ("noop_cancel", 0.03), ("all_failed", 0.005), ("timeout_race", 0.005), ("orphan", 0.01),
]


#: handled AI failures (aierrors.FAILURES) and their share of failed photos
FAILURE_MIX: list[tuple[str, float]] = [("server_500", 0.5), ("server_503", 0.2), ("unsupported", 0.15),
                                        ("empty", 0.15)]


def _failure(ctx: Ctx) -> str:
    names, weights = zip(*FAILURE_MIX, strict=True)
    return ctx.rng.choices(names, weights)[0]


def _duration(ctx: Ctx) -> float:
    if ctx.rng.random() < 0.04:
        return round(ctx.rng.uniform(12, 25), 3)
    return round(ctx.rng.uniform(2.5, 9.0), 3)


def _plan(ctx: Ctx, kind: str) -> MealPlan:
    rng = ctx.rng
    n = rng.choice([1, 1, 1, 2, 2, 3])
    photos = [PhotoPlan(outcome="success" if rng.random() > 0.01 else _failure(ctx),
                        duration=_duration(ctx)) for _ in range(n)]
    dup = rng.uniform(0.2, 1.5) if rng.random() < 0.015 else None
    if kind == "partial_cancel":
        photos = [PhotoPlan(duration=round(rng.uniform(2.0, 3.0), 3))] + [
            PhotoPlan(duration=round(rng.uniform(6.0, 9.0), 3)) for _ in range(rng.choice([1, 2]))]
        return MealPlan(photos=photos, cancel_at=photos[0].duration + rng.uniform(0.5, 1.5),
                        duplicate_after=dup, reason=rng.choice(["user_cancelled", "user_cancelled", "timeout_ui"]),
                        legacy_cancel=True)
    if kind == "cancel_all":
        photos = [PhotoPlan(duration=round(rng.uniform(4.0, 9.0), 3)) for _ in range(rng.choice([1, 2]))]
        return MealPlan(photos=photos, cancel_at=rng.uniform(1.4, 2.5), duplicate_after=dup,
                        reason=rng.choice(["user_cancelled", "navigation", "not_specified"]), legacy_cancel=True)
    if kind == "late_cancel":
        photos = [PhotoPlan(duration=round(rng.uniform(2.5, 5.0), 3)) for _ in range(n)]
        end = max(p.duration for p in photos) + n * 0.8 + 6
        return MealPlan(photos=photos, cancel_at=end + rng.uniform(0.5, 3.0), duplicate_after=dup,
                        legacy_cancel=True)
    if kind == "noop_cancel":
        return MealPlan(photos=[], cancel_at=0.0, cancel_photo_ids=False, cancel_task_ids=False,
                        reason=rng.choice(["user_cancelled", "not_specified"]), view_diary=False,
                        duplicate_after=dup)
    if kind == "all_failed":
        return MealPlan(photos=[PhotoPlan(outcome=_failure(ctx), duration=_duration(ctx)) for _ in range(n)])
    if kind == "timeout_race":
        d = round(rng.uniform(30, 40), 3)
        return MealPlan(photos=[PhotoPlan(duration=d, timeout_at=d - rng.uniform(2, 8))])
    return MealPlan(photos=photos)


def _orphan(ctx: Ctx, user: Any, t0: datetime) -> None:
    """Meal created, photo upload never arrived: finalization deletes it."""
    from apps.nutrition.models import Meal

    local = t0.astimezone(flow.MSK)
    meal = Meal.objects.create(user=user, meal_type=flow.meal_type_for(local.hour), date=local.date(),
                               status=Meal.Status.DRAFT, created_at=t0)
    flow.finalize(ctx, meal, t0 + timedelta(seconds=30))


def _noise(ctx: Ctx, start: datetime, end: datetime) -> int:
    n = 0
    t = start
    while t < end:
        ctx.access("GET", "/health/", 200, 15, t)
        n += 1
        t += timedelta(minutes=5)
    t = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while t < end:
        tid = ctx.uuid()
        ctx.worker(f"Task apps.billing.tasks.process_due_renewals[{tid}] received", t, process="MainProcess")
        ctx.worker(f"Task apps.billing.tasks.process_due_renewals[{tid}] succeeded in "
                   f"{ctx.rng.uniform(0.02, 0.4):.3f}s: {{'processed': {ctx.rng.randint(0, 3)}}}",
                   t + timedelta(milliseconds=300), process="ForkPoolWorker-2")
        n += 2
        t += timedelta(hours=1)
    return n


def generate(ctx: Ctx, meals: int = 200, hours: float = 24, users: int = 40,
             end: datetime | None = None) -> dict[str, Any]:
    """``meals`` meal journeys spread over the ``hours`` before ``end`` (default: now)."""
    end = end or utcnow()
    last_start = end - timedelta(seconds=120)  # every journey is over before "now"
    start = end - timedelta(hours=hours)
    span = (last_start - start).total_seconds()
    people = population(users)
    starts = sorted(start + timedelta(seconds=ctx.rng.uniform(0, span)) for _ in range(meals))
    kinds: Counter[str] = Counter()
    names, weights = zip(*KINDS, strict=True)
    with transaction.atomic():
        for t0 in starts:
            kind = ctx.rng.choices(names, weights)[0]
            user = people[ctx.rng.randrange(len(people))]
            kinds[kind] += 1
            if kind == "orphan":
                _orphan(ctx, user, t0)
            else:
                run_meal(ctx, user, t0, _plan(ctx, kind))
        noise = _noise(ctx, start, end)
    ctx.flush()
    return {"meals": meals, "hours": hours, "kinds": dict(sorted(kinds.items())),
            "noise_lines": noise, "window": [start.isoformat(), end.isoformat()]}
