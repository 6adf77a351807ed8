"""Handled AI outcomes: the recognition failed upstream (AI proxy 500/503), the proxy
answered with a controlled error, or it found no food. The real worker logs each one, marks
the photo FAILED and finalizes the meal: the system working, not an exception.

Lines and result dicts copied in shape from the real worker log
(reference/real-logs/celery-worker.json.log, "[AI] Proxy error" and around).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

PROXY_URL = "http://ai-proxy:8001/api/v1/ai/recognize-food"


@dataclass(frozen=True)
class Failure:
    outcome: str
    error_code: str
    category: str
    user_title: str
    user_message: str


FAILURES: dict[str, Failure] = {f.outcome: f for f in (
    Failure("server_500", "AI_SERVER_ERROR", "server", "Не получилось обработать фото",
            "Сервер временно недоступен. Попробуйте ещё раз."),
    Failure("server_503", "AI_SERVER_ERROR", "server", "Не получилось обработать фото",
            "Сервер временно недоступен. Попробуйте ещё раз."),
    Failure("unsupported", "UNSUPPORTED_CONTENT", "validation", "Не удалось распознать",
            "На фото не удалось распознать блюдо"),
    Failure("empty", "EMPTY_RESULT", "validation", "Не удалось распознать еду",
            "Мы не смогли распознать еду на фото. Попробуйте сделать фото крупнее."),
)}
#: the historical outcome name "fail" is the most common handled error: an upstream 500
ALIASES = {"fail": "server_500"}
#: every outcome a photo's task can have (the API's ``sandbox_outcome``)
OUTCOMES = ("success", "fail", *FAILURES, "hang")


def failure_for(outcome: str) -> Failure | None:
    return FAILURES.get(ALIASES.get(outcome, outcome))


def log_before_finalize(ctx: Any, f: Failure, *, task_id: str, rid: str, photo_id: int, meal_id: int,
                        user_id: int, at: datetime, process: str) -> None:
    """What the worker logs between the proxy's answer and finalization."""
    if f.outcome.startswith("server_"):
        status = f.outcome.split("_")[1]
        response = 'response={"detail": "upstream model error"}' if status == "500" else "response_preview=empty"
        ctx.worker(f"[AI Proxy] Request to {PROXY_URL} | status={status} | trace_id={rid} | {response}",
                   at, "INFO", process)
        ctx.worker(f"[AI] Proxy error: AIProxyServerError('AI Proxy server error {status}: upstream model error') "
                   f"rid={rid}", at, "ERROR", process)
    elif f.outcome == "unsupported":
        body = {"error_code": f.error_code, "user_title": f.user_title, "user_message": f.user_message,
                "user_actions": ["retake"], "allow_retry": True, "trace_id": rid}
        ctx.worker(f"[AI Proxy] Request to {PROXY_URL} | status=200 | trace_id={rid} | "
                   f"response={json.dumps(body, ensure_ascii=False)}", at, "INFO", process)
        ctx.worker(f"[AI] controlled error task={task_id} meal_id={meal_id} photo_id={photo_id} rid={rid} "
                   f"code={f.error_code} category={f.category}", at, "WARNING", process)
    else:  # empty
        body = {"status": "success", "is_food": False, "confidence": 0.93, "trace_id": rid,
                "result": {"items": [], "total": {"calories": 0, "protein_g": 0, "fat_g": 0, "carbs_g": 0}}}
        ctx.worker(f"[AI Proxy] Request to {PROXY_URL} | status=200 | trace_id={rid} | "
                   f"response={json.dumps(body, ensure_ascii=False)}", at, "INFO", process)
        ctx.worker(f"[AI:ITEMS_DEBUG] rid={rid} raw_items=0 safe_items=0 "
                   "meta={'confidence': 0.93, 'final_status': 'success'}", at, "INFO", process)
        ctx.worker(f"[AI:EMPTY_ITEMS] trace_id={rid} meal_photo_id={photo_id} zone= confidence=0.93 "
                   f"final_status=success reason_code=None error_code={f.error_code}", at, "INFO", process)
    ctx.worker(f"[AI:FAILED] photo_id={photo_id} user_id={user_id} error_code={f.error_code} "
               f"category={f.category} meal_id={meal_id}", at + timedelta(milliseconds=6), "WARNING", process)


def task_result(f: Failure, *, rid: str, meal_id: int, photo_id: int, owner_id: int) -> dict[str, Any]:
    """The task's return value (Celery prints it in the `succeeded in` line)."""
    head: dict[str, Any] = {}
    if f.outcome == "unsupported":
        head = {"request_id": rid, "is_error": True}
    actions = ["retry", "contact_support"] if f.category == "server" else ["retake"]
    body: dict[str, Any] = {"error_code": f.error_code, "user_title": f.user_title, "user_message": f.user_message,
                            "user_actions": actions, "allow_retry": f.outcome != "empty"}
    if f.category == "server":
        body["retry_after_sec"] = 60
    return {**head, **body, "trace_id": rid, "items": [], "totals": {}, "meal_id": meal_id,
            "meal_photo_id": photo_id, "owner_id": owner_id}
