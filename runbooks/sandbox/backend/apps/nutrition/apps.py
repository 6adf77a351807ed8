from django.apps import AppConfig


class NutritionConfig(AppConfig):
    name = "apps.nutrition"
    label = "nutrition"
    default_auto_field = "django.db.models.BigAutoField"
