"""Fact dicts for rule tests: what the gather steps produce, built from known lines."""

from __future__ import annotations

from typing import Any

from runbooks.packs.eatfit24.monitor.parse import summarize_log

from .logs import BACKEND_LINES, WORKER_LINES


def filtered(lines: list[str], tags: dict[int, str] | None = None) -> str:
    """Simulate the host filter's output format for unit tests (the real one is tested in test_filter)."""
    out = []
    for i, line in enumerate(lines, 1):
        tag = (tags or {}).get(i, "M")
        out.append(f"{i} {tag} {line}")
    out.append("0 S RUNBOOKS_EXIT 0")
    return "\n".join(out) + "\n"


def worker_facts(lines: list[str] | None = None) -> dict[str, Any]:
    return summarize_log(filtered(lines if lines is not None else WORKER_LINES[1:7]), "eatfit24-celery-worker-1")


def backend_facts(lines: list[str] | None = None) -> dict[str, Any]:
    return summarize_log(filtered(lines if lines is not None else BACKEND_LINES[:9]), "eatfit24-backend-1")


def db_facts(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 1, "skipped": {}, "errors": {}, "django": "6.0", "today": "2026-01-15",
        "counts": {"photos_by_status": {"SUCCESS": 40, "CANCELLED": 4, "FAILED": 1}, "meals_by_status": {"COMPLETE": 20},
                   "dau": 12, "meals_processing_total": 0},
        "leaked_photos": {"CANCELLED": {"count": 0, "sample": []}, "FAILED": {"count": 0, "sample": []}},
        "meals_items_without_success": {"count": 0, "sample": []},
        "stuck_photos": {"count": 0, "processing_only_count": 0, "sample": []},
        "stuck_meals": {"count": 0, "sample": []},
        "resurrected": {"count": 0, "sample": []},
        "cancelled_meals_visible": {"count": 0, "sample": []},
        "cancel_events": {"total": 10, "noop": 3, "with_action": 7, "avg_updated_photos": 1.5,
                          "zero_updated_with_ids": 0, "not_applied_count": 0, "not_applied": []},
        "serializer": {"date": "2026-01-15", "meals_rendered": 20, "photos_rendered": 30, "non_success_photos": [],
                       "non_success_count": 0, "failed_meals": [], "failed_meal_count": 0},
    }
    base.update(over)
    return base


def api_facts(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"evaluated": True, "date": "2026-01-15", "meals": 3, "photos": 4,
                            "non_success_photos": [], "failed_meals": []}
    base.update(over)
    return base
