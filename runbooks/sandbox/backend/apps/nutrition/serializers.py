"""``MealSerializer`` with DRF's interface (``MealSerializer(instance, many=True,
context={"request": request}).data``) but no DRF dependency. Photos are filtered to SUCCESS
(eatfit24's fix), unless the sandbox's ``serializer_leak`` fault is active."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from .models import FoodItem, Meal, MealPhoto

NUTRIENTS = ("calories", "protein", "fat", "carbohydrates")


def _dt(value: Any) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _num(value: Any) -> float:
    return float(value) if isinstance(value, Decimal) else value


def _leak_active() -> bool:
    from runbooks.sandbox import faultflags
    from runbooks.sandbox.djangoenv import current_state
    from runbooks.sandbox.paths import StatePaths

    return faultflags.is_active(StatePaths(current_state()), "serializer_leak")


class BaseSerializer:
    def __init__(self, instance: Any = None, many: bool = False, context: dict | None = None) -> None:
        self.instance, self.many, self.context = instance, many, context or {}

    @property
    def data(self) -> Any:
        if self.many:
            return [self.to_representation(obj) for obj in self.instance]
        return self.to_representation(self.instance)

    def to_representation(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError


class FoodItemSerializer(BaseSerializer):
    def to_representation(self, item: FoodItem) -> dict[str, Any]:
        return {"id": item.id, "name": item.name, "grams": item.grams,
                **{k: _num(getattr(item, k)) for k in NUTRIENTS},
                "created_at": _dt(item.created_at), "updated_at": _dt(item.updated_at)}


class MealPhotoSerializer(BaseSerializer):
    def to_representation(self, photo: MealPhoto) -> dict[str, Any]:
        url = f"/media/{photo.image}"
        request = self.context.get("request")
        if request is not None:
            url = request.build_absolute_uri(url)
        return {"id": photo.id, "image_url": url, "status": photo.status,
                "status_display": photo.get_status_display(), "error_message": photo.error_message or None,
                "error_code": photo.error_code or None, "created_at": _dt(photo.created_at)}


class MealSerializer(BaseSerializer):
    def to_representation(self, meal: Meal) -> dict[str, Any]:
        all_photos = sorted(meal.photos.all(), key=lambda p: (p.created_at, p.id))
        success = [p for p in all_photos if p.status == MealPhoto.Status.SUCCESS]
        shown = all_photos if _leak_active() else success
        items = list(meal.items.all())
        photos = MealPhotoSerializer(shown, many=True, context=self.context).data
        latest = all_photos[-1] if all_photos else None
        failed = [p for p in all_photos if p.status == MealPhoto.Status.FAILED]
        return {
            "id": meal.id, "meal_type": meal.meal_type, "meal_type_display": meal.get_meal_type_display(),
            "date": str(meal.date), "status": meal.status, "status_display": meal.get_status_display(),
            "created_at": _dt(meal.created_at),
            "items": FoodItemSerializer(items, many=True).data,
            "photos": photos,
            "total": {k: round(sum(float(getattr(i, k)) for i in items), 1) for k in NUTRIENTS},
            "photo_url": photos[0]["image_url"] if photos else None,
            "photo_count": len(photos),
            "has_success": bool(success),
            "is_processing": meal.status == Meal.Status.PROCESSING or any(
                p.status in (MealPhoto.Status.PENDING, MealPhoto.Status.PROCESSING) for p in all_photos),
            "latest_photo_status": latest.status if latest else None,
            "photos_count": len(all_photos),
            "latest_failed_photo_id": failed[-1].id if failed else None,
        }
