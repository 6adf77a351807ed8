"""``GET /api/v1/meals/``: the diary (eatfit24.md "API")."""

from __future__ import annotations

from datetime import date as Date

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .auth import telegram_auth
from .models import Meal, MealPhoto
from .serializers import NUTRIENTS, MealSerializer

DAILY_GOAL = {"calories": 2000, "protein": 120, "fat": 70, "carbohydrates": 230}
PAGE_SIZE = 20


def _meals(user):  # noqa: ANN001, ANN202
    from runbooks.sandbox import faultflags
    from runbooks.sandbox.djangoenv import current_state
    from runbooks.sandbox.paths import StatePaths

    qs = Meal.objects.filter(user=user).prefetch_related(
        Prefetch("photos", queryset=MealPhoto.objects.order_by("created_at")), "items")
    if not faultflags.is_active(StatePaths(current_state()), "failed_meal_in_api"):
        qs = qs.exclude(status=Meal.Status.FAILED)
    return qs.order_by("-date", "-created_at")


@telegram_auth
def meals(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    raw = request.GET.get("date")
    context = {"request": request}
    if raw is None:
        qs = _meals(request.user)
        try:
            page = max(1, int(request.GET.get("page", "1")))
        except ValueError:
            return JsonResponse({"detail": "Invalid page."}, status=404)
        count = qs.count()
        chunk = list(qs[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])
        if page > 1 and not chunk:
            return JsonResponse({"detail": "Invalid page."}, status=404)
        base = request.build_absolute_uri(request.path)
        return JsonResponse({
            "count": count,
            "next": f"{base}?page={page + 1}" if page * PAGE_SIZE < count else None,
            "previous": (f"{base}?page={page - 1}" if page > 2 else base) if page > 1 else None,
            "results": MealSerializer(chunk, many=True, context=context).data})
    try:
        day = Date.fromisoformat(raw)
    except ValueError:
        return JsonResponse({"error": "Invalid date format. Use YYYY-MM-DD."}, status=400)
    data = MealSerializer(_meals(request.user).filter(date=day), many=True, context=context).data
    consumed = {k: round(sum(m["total"][k] for m in data), 1) for k in NUTRIENTS}
    return JsonResponse({"date": str(day), "daily_goal": DAILY_GOAL, "total_consumed": consumed,
                         "progress": {k: round(100 * consumed[k] / DAILY_GOAL[k], 1) for k in NUTRIENTS},
                         "meals": data})


@csrf_exempt
@telegram_auth
def meal_detail(request: HttpRequest, meal_id: int) -> HttpResponse:
    """``GET``/``DELETE /api/v1/meals/<id>/``: one meal of the user (its photos and items go
    with it on delete); 404 for another user's meal."""
    meal = Meal.objects.filter(id=meal_id, user=request.user).first()
    if meal is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    if request.method == "DELETE":
        meal.delete()
        return HttpResponse(status=204)
    if request.method != "GET":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    return JsonResponse(MealSerializer(meal, context={"request": request}).data)
