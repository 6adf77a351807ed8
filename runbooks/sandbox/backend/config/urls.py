from apps.ai import views as ai_views
from apps.nutrition import views as nutrition_views
from django.urls import path

urlpatterns = [
    path("api/v1/meals/", nutrition_views.meals),
    path("api/v1/meals/<int:meal_id>/", nutrition_views.meal_detail),
    path("api/v1/ai/cancel/", ai_views.cancel),
    path("api/v1/ai/recognize/", ai_views.recognize),
    path("api/v1/ai/task/<str:task_id>/", ai_views.task_status),
    path("api/v1/ai/task/<str:task_id>/cancel/", ai_views.legacy_cancel),
    path("api/v1/sandbox/health/", ai_views.health),
]
