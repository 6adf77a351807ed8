"""Models mirroring eatfit24's ``apps.nutrition`` (reference/eatfit24.md).

``created_at`` uses ``default=timezone.now`` instead of ``auto_now_add`` so the simulator can
backdate rows; the column and the values it holds are the same as in production.

The ``schema_changed`` fault (read once, at import, only in processes "inside the container",
i.e. started by ``docker exec``) stands for a deploy whose migration renamed the status fields:
same columns, new field names, so ``filter(status=...)`` raises FieldError there.
"""
import json
import os
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def _schema_changed() -> bool:
    if os.environ.get("RUNBOOKS_SANDBOX_IN_CONTAINER") != "1":
        return False
    try:
        with open(os.path.join(os.environ.get("RUNBOOKS_SANDBOX_STATE", ""), "faults.json"), encoding="utf-8") as fh:
            return "schema_changed" in json.load(fh).get("active", {})
    except (OSError, ValueError):
        return False


SCHEMA_CHANGED = _schema_changed()


class Meal(models.Model):
    class MealType(models.TextChoices):
        BREAKFAST = "BREAKFAST", "Завтрак"
        LUNCH = "LUNCH", "Обед"
        DINNER = "DINNER", "Ужин"
        SNACK = "SNACK", "Перекус"

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Черновик"
        PROCESSING = "PROCESSING", "Обработка"
        COMPLETE = "COMPLETE", "Готово"
        FAILED = "FAILED", "Ошибка"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meals")
    meal_type = models.CharField(max_length=20, choices=MealType.choices)
    date = models.DateField()
    if SCHEMA_CHANGED:
        meal_status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True,
                                       db_column="status")
    else:
        status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "nutrition_meals"
        ordering = ["-date", "-created_at"]

    def __str__(self) -> str:
        return f"Meal {self.pk} {self.meal_type} {self.date} {getattr(self, 'status', '')}"


class MealPhoto(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", "В очереди"
        PROCESSING = "PROCESSING", "Обработка"
        SUCCESS = "SUCCESS", "Готово"
        FAILED = "FAILED", "Ошибка"
        CANCELLED = "CANCELLED", "Отменено"

    meal = models.ForeignKey(Meal, on_delete=models.CASCADE, related_name="photos")
    image = models.CharField(max_length=255)
    recognized_data = models.JSONField(default=dict, blank=True)
    if SCHEMA_CHANGED:
        processing_status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING,
                                             db_index=True, db_column="status")
    else:
        status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    error_message = models.TextField(blank=True, default="")
    error_code = models.CharField(max_length=50, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "nutrition_meal_photos"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"MealPhoto {self.pk} {getattr(self, 'status', '')}"


class FoodItem(models.Model):
    meal = models.ForeignKey(Meal, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=255)
    grams = models.PositiveIntegerField(default=0)
    calories = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    protein = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    fat = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    carbohydrates = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "nutrition_food_items"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"FoodItem {self.pk} {self.name}"


class CancelEvent(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cancel_events")
    client_cancel_id = models.UUIDField(unique=True, default=uuid.uuid4)
    run_id = models.IntegerField(null=True, blank=True)
    meal = models.ForeignKey(Meal, on_delete=models.SET_NULL, null=True, blank=True, related_name="cancel_events")
    payload = models.JSONField(default=dict, blank=True)
    cancelled_tasks = models.IntegerField(default=0)
    updated_photos = models.IntegerField(default=0)
    noop = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "nutrition_cancel_events"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"CancelEvent {self.pk} {self.client_cancel_id}"
