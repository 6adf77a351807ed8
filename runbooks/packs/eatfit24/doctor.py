"""The eatfit24 pack's part of `doctor` (runbooks/steps/doctor.py): on a target that names
the pack's containers (`containers.backend` or `containers.worker`), the keys the eatfit24
playbooks need are required before connecting, the probe tries the monitor's real log
filter, the container hints say how compose names them, and one read-only Django query
(the `django.query` block) in the backend checks the shell and the app's models."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from runbooks.blocks import djshell
from runbooks.blocks.django_query import interpret, query_script
from runbooks.packs.eatfit24 import target as pack_target
from runbooks.packs.eatfit24.monitor.gather import SCAN
from runbooks.steps.base import Request, Step, StepContext

if TYPE_CHECKING:
    from runbooks.config import Target

# doctor's Django probe: a `django.query` (read-only, rolled back) that names the models
MODELS = ("Meal", "MealPhoto", "FoodItem", "CancelEvent")
DJANGO_QUERY = (
    "from django.conf import settings\n"
    "from apps.nutrition import models as m\n"
    "result = {'tz': settings.TIME_ZONE,\n"
    f"          'models': [n for n in {MODELS!r} if hasattr(m, n)]}}\n"
)

LOG_FILTER = (SCAN, "2026-01-01T00:00:00.000000000Z [MealService] Finalized meal_id=1 as COMPLETE")
NEEDS_DOCKER = True
ROLE_HINTS = {
    "backend": " — compose names it <project>-backend-1",
    "worker": " — compose names it <project>-celery-worker-1",
}


def applies(target: "Target") -> bool:
    return any(role in target.containers for role in pack_target.ROLES)


def variables(target: "Target") -> dict[str, Any]:
    """ConfigError naming the first missing key (containers.backend/worker, project_dir)."""
    return pack_target.variables(target, "doctor")


Checks = list[dict[str, Any]]


def run(step: Step, ctx: StepContext, states: Mapping[str, str]) -> Generator[Request, Any, tuple[Checks, dict[str, Any]]]:
    """The Django shell probe, when the backend runs: (checks, facts)."""
    if states.get("backend") != "running":
        return [{"check": "django_shell", "ok": False, "detail": "backend container not running",
                 "hint": "start the backend"}], {}
    dj = yield djshell.command(query_script(DJANGO_QUERY), container=ctx.vars["backend"],
                               label="django shell probe", timeout=step.timeout or 90)
    out = interpret(dj, 10)
    if out.status == "ok" and isinstance(out.facts.get("result"), dict):
        info = {"django": out.facts.get("django"), **out.facts["result"]}
        ok = len(info.get("models", [])) == len(MODELS)
        return [{"check": "django_shell", "ok": ok,
                 "detail": f"Django {info.get('django')}, TIME_ZONE {info.get('tz')}, models {', '.join(info.get('models', []))}",
                 "hint": "" if ok else "apps.nutrition models missing"}], {"django": info}
    return [{"check": "django_shell", "ok": False, "detail": out.message[-200:],
             "hint": "python manage.py shell must work in the backend container"}], {}
