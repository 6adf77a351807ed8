"""The checklist's staging scenarios A, B, C, played through the cancel-flow services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from runbooks.sandbox.ctx import Ctx
from runbooks.sandbox.sim import MealPlan, PhotoPlan, run_meal
from runbooks.sandbox.timefmt import utcnow
from runbooks.sandbox.users import api_user

SCENARIOS: dict[str, str] = {
    "A": "3 photos, first SUCCESS, Cancel, Done: meal COMPLETE with 1 SUCCESS photo",
    "B": "2 photos, Cancel before any SUCCESS: meal FAILED, not in the diary",
    "C": "1 photo, Cancel during PROCESSING, late result: race guard, meal FAILED",
}

PLANS: dict[str, MealPlan] = {
    "A": MealPlan(photos=[PhotoPlan(duration=2.2), PhotoPlan(duration=5.0), PhotoPlan(duration=6.5)],
                  cancel_at=3.5, reason="user_cancelled"),
    "B": MealPlan(photos=[PhotoPlan(duration=4.5), PhotoPlan(duration=5.5)], cancel_at=1.2,
                  reason="user_cancelled"),
    "C": MealPlan(photos=[PhotoPlan(duration=4.0)], cancel_at=1.5, reason="user_cancelled"),
}


def play(ctx: Ctx, name: str) -> dict[str, Any]:
    """Play scenario ``name`` for the API user, ending a few seconds before now."""
    name = name.upper()
    if name not in PLANS:
        raise KeyError(f"unknown scenario {name!r} (known: {', '.join(PLANS)})")
    t0 = utcnow() - timedelta(seconds=20)
    run = run_meal(ctx, api_user(), t0, PLANS[name])
    from apps.nutrition.models import Meal, MealPhoto

    meal = Meal.objects.get(id=run.meal_id)
    photos = {p.id: p.status for p in MealPhoto.objects.filter(meal=meal)}
    return {"scenario": name, "description": SCENARIOS[name], "meal_id": meal.id,
            "meal_status": meal.status, "photo_ids": run.photo_ids, "photo_statuses": photos,
            "task_ids": run.task_ids, "client_cancel_id": run.client_cancel_id,
            "cancel_response": run.cancel, "date": str(meal.date)}
