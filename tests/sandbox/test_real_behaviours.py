"""The sandbox does what the real eatfit24 backend was seen doing (reference/eatfit24.md,
"Observed on the real backend"; reference/real-logs): exact DB states and exact log lines."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from runbooks.sandbox import Sandbox, faultflags
from tests.sandbox.helpers import api, docker, wait_for

WORKER, BACKEND = "eatfit24-celery-worker-1", "eatfit24-backend-1"
PREFIX = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: (?P<level>[A-Z]+)/(?P<proc>[\w-]+)\] "
STAMP = r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) "


def logs(sb: Sandbox, container: str, *flags: str) -> list[str]:
    r = docker(sb, "logs", *flags, container, merge=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def db(sb: Sandbox, fn: Any) -> Any:
    """Run ``fn(models)`` on the sandbox DB with the real ORM, in this process."""
    from runbooks.sandbox.djangoenv import activate

    activate(sb.paths.root)
    from apps.nutrition import models

    return fn(models)


def index(lines: list[str], pattern: str) -> int:
    hits = [i for i, ln in enumerate(lines) if re.search(pattern, ln)]
    assert len(hits) == 1, (pattern, hits)
    return hits[0]


# ---------------------------------------------------------------- 1. handled AI errors

def test_ai_upstream_errors_are_handled_like_the_real_worker(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("ai_upstream_errors", count=3)
    assert ev["count"] == 3 and ev["http_statuses"] == {"500": 2, "503": 1} and ev["error_code"] == "AI_SERVER_ERROR"
    photos = db(sandbox_state, lambda m: list(m.MealPhoto.objects.filter(id__in=ev["photo_ids"]).order_by("id")))
    assert [(p.status, p.error_code, p.recognized_data) for p in photos] == [("FAILED", "AI_SERVER_ERROR", {})] * 3
    assert db(sandbox_state, lambda m: sorted(m.Meal.objects.filter(status="FAILED").values_list("id", flat=True))) \
        == sorted(ev["meal_ids"])
    lines = logs(sandbox_state, WORKER)
    for k, (photo, meal_id) in enumerate(zip(photos, ev["meal_ids"], strict=True)):
        status = "503" if k == 2 else "500"
        tail = 'response={"detail": "upstream model error"}' if status == "500" else "response_preview=empty"
        i = index(lines, rf"\[AI:FAILED\] photo_id={photo.id} ")
        proxy, error, failed, final, done = lines[i - 2:i + 3]
        m = re.fullmatch(PREFIX + r"\[AI Proxy\] Request to http://ai-proxy:8001/api/v1/ai/recognize-food \| "
                         rf"status={status} \| trace_id=(?P<rid>[0-9a-f]{{32}}) \| " + re.escape(tail), proxy)
        assert m and m["level"] == "INFO", proxy
        rid = m["rid"]
        assert re.fullmatch(PREFIX + re.escape(f"[AI] Proxy error: AIProxyServerError('AI Proxy server error "
                                               f"{status}: upstream model error') rid={rid}"), error)
        assert "ERROR/ForkPoolWorker-" in error
        assert re.fullmatch(PREFIX + re.escape(f"[AI:FAILED] photo_id={photo.id} user_id={photo.meal.user_id} "
                                               f"error_code=AI_SERVER_ERROR category=server meal_id={meal_id}"), failed)
        assert "WARNING/ForkPoolWorker-" in failed
        assert final.endswith(f"] [MealService] Finalized meal_id={meal_id} as FAILED (all photos failed/cancelled)")
        m = re.fullmatch(PREFIX + r"Task apps\.ai\.tasks\.recognize_food_async\[[0-9a-f-]{36}\] succeeded in "
                         r"[\d.]+s: (?P<result>\{.*\})", done)
        assert m and m["result"].startswith("{'error_code': 'AI_SERVER_ERROR', ")
        assert f"'trace_id': '{rid}'" in m["result"] and f"'meal_photo_id': {photo.id}" in m["result"]
    assert not [ln for ln in lines if "Recognition failed" in ln]


@pytest.mark.parametrize("outcome, code, category, marker", [
    ("unsupported", "UNSUPPORTED_CONTENT", "validation",
     r"WARNING/ForkPoolWorker-\d\] \[AI\] controlled error task={task} meal_id={meal} photo_id={photo} "
     r"rid=[0-9a-f]{{32}} code=UNSUPPORTED_CONTENT category=validation$"),
    ("empty", "EMPTY_RESULT", "validation",
     r"INFO/ForkPoolWorker-\d\] \[AI:EMPTY_ITEMS\] trace_id=[0-9a-f]{{32}} meal_photo_id={photo} zone= "
     r"confidence=0\.93 final_status=success reason_code=None error_code=EMPTY_RESULT$"),
    ("server_503", "AI_SERVER_ERROR", "server",
     r"ERROR/ForkPoolWorker-\d\] \[AI\] Proxy error: AIProxyServerError\('AI Proxy server error 503: "
     r"upstream model error'\) rid=[0-9a-f]{{32}}$"),
])
def test_other_handled_outcomes_through_the_live_worker(sandbox: Sandbox, outcome: str, code: str,
                                                        category: str, marker: str) -> None:
    status, up = api(sandbox, "POST", "/api/v1/ai/recognize/", {"meal_type": "LUNCH", "sandbox_outcome": outcome,
                                                                 "sandbox_delay": 0.1})
    assert status == 202, up
    wait_for(lambda: api(sandbox, "GET", f"/api/v1/ai/task/{up['task_id']}/")[1]["meal_status"] == "FAILED",
             what="meal finalized FAILED")
    photo = db(sandbox, lambda m: m.MealPhoto.objects.get(id=up["meal_photo_id"]))
    assert (photo.status, photo.error_code) == ("FAILED", code)
    lines = logs(sandbox, WORKER)
    i = index(lines, marker.format(task=up["task_id"], meal=up["meal_id"], photo=up["meal_photo_id"]))
    j = index(lines, rf"WARNING/ForkPoolWorker-\d\] \[AI:FAILED\] photo_id={up['meal_photo_id']} user_id=\d+ "
                     rf"error_code={code} category={category} meal_id={up['meal_id']}$")
    k = index(lines, rf"\[MealService\] Finalized meal_id={up['meal_id']} as FAILED \(all photos failed/cancelled\)")
    n = index(lines, rf"recognize_food_async\[{up['task_id']}\] succeeded in [\d.]+s: .*'error_code': '{code}'")
    assert i < j < k < n


def test_a_healthy_day_has_handled_errors_and_both_cancels_and_finalizes_every_meal(sandbox_state: Sandbox) -> None:
    sandbox_state.traffic(seed=7, meals=300)
    gt = sandbox_state.ground_truth()
    assert all(gt["agree"].values()), gt["agree"]
    d, b = gt["db"], gt["logs"]["backend"]
    for key in ("cancelled_photos_with_results", "failed_photos_with_results", "stuck_photo_ids",
                "stuck_meal_ids", "cancel_not_applied_event_ids"):
        assert d[key] == [], key
    assert d["meals"]["PROCESSING"] == d["meals"]["DRAFT"] == 0
    # the legacy endpoint marked photos and finalized meals in the backend, then the batch
    # cancel found those photos terminal (updated_photos=0, legitimately)
    assert b["legacy_mark"] > 0 and b["legacy_task_cancelled"] >= b["legacy_mark"]
    assert b["finalized_complete"] + b["finalized_failed"] > 0 and d["cancel_events_zero_update_with_photo_ids"] > 0
    worker = "\n".join(logs(sandbox_state, WORKER))
    assert "[AI] Proxy error: AIProxyServerError('AI Proxy server error 500" in worker
    assert re.search(r"\[AI:FAILED\] photo_id=\d+ user_id=\d+ error_code=(AI_SERVER_ERROR|UNSUPPORTED_CONTENT|"
                     r"EMPTY_RESULT) category=(server|validation) meal_id=\d+", worker)
    assert "Recognition failed" not in worker and b["traceback"] == b["internal_server_error"] == 0
    # the upload's request id is the one the task logs (backend and worker lines can be joined)
    created = re.findall(r"^\[AI\] Created MealPhoto id=(\d+) for meal_id=(\d+) user_id=(\d+) rid=([0-9a-f]{32})$",
                         "\n".join(logs(sandbox_state, BACKEND)), re.M)
    assert len(created) == d["photos"]["SUCCESS"] + d["photos"]["FAILED"] + d["photos"]["CANCELLED"]
    started = set(re.findall(r"\[AI\] start task=\S+ meal_id=(\d+) photo_id=(\d+) type=[A-Z]+ date=\S+ "
                             r"rid=([0-9a-f]{32}) user_id=(\d+)$", worker, re.M))
    assert started and started <= {(m, p, r, u) for p, m, u, r in created}


# ---------------------------------------------------------------- 2. both cancel endpoints

def test_legacy_cancel_marks_finalizes_in_the_backend_and_revokes(sandbox: Sandbox) -> None:
    status, up = api(sandbox, "POST", "/api/v1/ai/recognize/", {"meal_type": "DINNER", "sandbox_delay": 4.0})
    assert status == 202
    wait_for(lambda: api(sandbox, "GET", f"/api/v1/ai/task/{up['task_id']}/")[1]["status"] == "PROCESSING",
             what="PROCESSING")
    status, body = api(sandbox, "POST", f"/api/v1/ai/task/{up['task_id']}/cancel/")
    assert (status, body) == (200, {"ok": True})
    meal, photo = up["meal_id"], up["meal_photo_id"]
    assert db(sandbox, lambda m: (m.MealPhoto.objects.get(id=photo).status, m.Meal.objects.get(id=meal).status)) \
        == ("CANCELLED", "FAILED")
    user = db(sandbox, lambda m: m.Meal.objects.get(id=meal).user_id)
    back = logs(sandbox, BACKEND)
    f = index(back, rf"^\[MealService\] Finalized meal_id={meal} as FAILED \(all photos failed/cancelled\)$")
    k = index(back, rf"^\[AI\] Mark MealPhoto {photo} as CANCELLED immediately$")
    t = index(back, rf"^\[AI\] Task cancelled: task_id={up['task_id']} user_id={user} rid=$")
    a = index(back, rf'"POST /api/v1/ai/task/{up["task_id"]}/cancel/ HTTP/1\.[01]" 200 ')
    assert f < k < t < a
    # the revoke does not stop the running task: it ends in the race guard, which finalizes nothing
    rg = f"[AI] Photo {photo} is in terminal state CANCELLED, discarding results (race condition guard)"
    wait_for(lambda: any(ln.endswith(rg) for ln in logs(sandbox, WORKER)), what="race guard")
    assert not [ln for ln in logs(sandbox, WORKER) if f"Finalized meal_id={meal} " in ln]
    # again: the photo is terminal now, so no Mark and no finalization, only the cancel line
    api(sandbox, "POST", f"/api/v1/ai/task/{up['task_id']}/cancel/")
    back = logs(sandbox, BACKEND)
    assert len([ln for ln in back if f"Task cancelled: task_id={up['task_id']}" in ln]) == 2
    assert len([ln for ln in back if "Mark MealPhoto" in ln or f"Finalized meal_id={meal} " in ln]) == 2


def test_batch_cancel_alone_does_not_finalize(sandbox: Sandbox) -> None:
    faultflags.set_flag(sandbox.paths, "cancel_no_finalize")  # today's backend (the sandbox's own batch cancel is the fixed one)
    status, up = api(sandbox, "POST", "/api/v1/ai/recognize/", {"meal_type": "LUNCH", "sandbox_delay": 30})
    wait_for(lambda: api(sandbox, "GET", f"/api/v1/ai/task/{up['task_id']}/")[1]["status"] == "PROCESSING",
             what="PROCESSING")
    status, resp = api(sandbox, "POST", "/api/v1/ai/cancel/", {
        "client_cancel_id": str(uuid.uuid4()), "meal_id": up["meal_id"], "meal_photo_ids": [up["meal_photo_id"]],
        "task_ids": [], "reason": "user_cancel"})
    assert status == 200 and resp["updated_photos"] == 1
    assert db(sandbox, lambda m: m.Meal.objects.get(id=up["meal_id"]).status) == "PROCESSING"
    assert not [ln for ln in logs(sandbox, BACKEND) + logs(sandbox, WORKER) if f"meal_id={up['meal_id']} as" in ln]


# ---------------------------------------------------------------- 3. the new faults

def test_cancel_no_finalize_leaves_an_empty_card(sandbox: Sandbox) -> None:
    ev = sandbox.inject("cancel_no_finalize")
    assert db(sandbox, lambda m: (m.Meal.objects.get(id=ev["meal_id"]).status,
                                  sorted(m.MealPhoto.objects.filter(meal_id=ev["meal_id"]).values_list("id", "status")),
                                  m.CancelEvent.objects.get(id=ev["cancel_event_id"]).updated_photos)) \
        == ("PROCESSING", [(p, "CANCELLED") for p in ev["photo_ids"]], 2)
    worker = logs(sandbox, WORKER)
    for task_id in ev["task_ids"]:
        index(worker, rf"INFO/MainProcess\] Discarding revoked task: apps\.ai\.tasks\.recognize_food_async\[{task_id}\]$")
    everything = logs(sandbox, WORKER) + logs(sandbox, BACKEND)
    assert not [ln for ln in everything if f"Finalized meal_id={ev['meal_id']} " in ln or "Mark MealPhoto" in ln]
    assert sandbox.ground_truth()["db"]["stuck_meal_ids"] == [ev["meal_id"]]
    meals = api(sandbox, "GET", f"/api/v1/meals/?date={ev['date']}")[1]["meals"]
    card = next(m for m in meals if m["id"] == ev["meal_id"])
    assert (card["status"], card["photos"], card["items"], card["has_success"]) == ("PROCESSING", [], [], False)


def _stamp(lines: list[str], pattern: str) -> str:
    m = re.match(STAMP, lines[index(lines, pattern)])
    assert m
    return m["ts"]


def test_cancelled_photo_resurrected(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("cancelled_photo_resurrected")
    photo = db(sandbox_state, lambda m: m.MealPhoto.objects.select_related("meal").get(id=ev["photo_id"]))
    event = db(sandbox_state, lambda m: m.CancelEvent.objects.get(id=ev["cancel_event_id"]))
    assert (photo.status, photo.meal.status, photo.meal_id) == ("SUCCESS", "COMPLETE", ev["meal_id"])
    assert photo.recognized_data["items"] and ev["food_item_ids"]
    assert (event.updated_photos, event.payload["meal_photo_ids"], str(event.client_cancel_id)) == \
        (1, [ev["photo_id"]], ev["client_cancel_id"])
    cancelled = _stamp(logs(sandbox_state, BACKEND, "-t"),
                       rf"\[AI\]\[Cancel\] UPDATED_PHOTOS count=1 meal_photo_ids=\[{ev['photo_id']}\] user=")
    worker = logs(sandbox_state, WORKER, "-t")
    started = _stamp(worker, rf"recognize_food_async\[{ev['task_id']}\] received$")
    success = _stamp(worker, rf"\[AI\] MealPhoto {ev['photo_id']} updated to SUCCESS with \d+ items$")
    assert cancelled < started < success
    index(worker, rf"\[MealService\] Finalized meal_id={ev['meal_id']} as COMPLETE$")


def test_legacy_cancel_resurrected(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("legacy_cancel_resurrected")
    photo = db(sandbox_state, lambda m: m.MealPhoto.objects.select_related("meal").get(id=ev["photo_id"]))
    assert (photo.status, photo.meal.status) == ("SUCCESS", "COMPLETE") and photo.recognized_data["items"]
    back = logs(sandbox_state, BACKEND, "-t")
    marked = _stamp(back, re.escape(ev["mark_line"]) + "$")
    failed = _stamp(back, rf"Z \[MealService\] Finalized meal_id={ev['meal_id']} as FAILED \(all photos failed/cancelled\)$")
    worker = logs(sandbox_state, WORKER, "-t")
    success = _stamp(worker, rf"\[AI\] MealPhoto {ev['photo_id']} updated to SUCCESS with \d+ items$")
    complete = _stamp(worker, rf"\[MealService\] Finalized meal_id={ev['meal_id']} as COMPLETE$")
    assert failed <= marked < success <= complete


def test_backend_500_is_logged_like_the_real_backend(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("backend_500")
    r = docker(sandbox_state, "logs", BACKEND)
    err, out = r.stderr.splitlines(), r.stdout.splitlines()
    not_null = 'null value in column "recognized_data" of relation "nutrition_meal_photos" violates not-null constraint'
    first = index(err, "^" + re.escape(f"[AIRecognitionView] Unhandled exception: {not_null}") + "$")
    block = err[first:first + ev["lines"] - 1]
    assert block[1].startswith(f"DETAIL:  Failing row contains ({ev['photo_id']}, ")
    assert block.count("Traceback (most recent call last):") == 2
    assert "The above exception was the direct cause of the following exception:" in block
    assert len([ln for ln in block if re.match(r'  File "[^"]+", line \d+, in \w+$', ln)]) >= 10
    assert f"django.db.utils.IntegrityError: {not_null}" in block
    assert block[-1] == "Internal Server Error: /api/v1/ai/recognize/"
    assert block.index(f"django.db.utils.IntegrityError: {not_null}") > block.index(f"psycopg2.errors.NotNullViolation: {not_null}")
    index(out, r'"POST /api/v1/ai/recognize/ HTTP/1\.[01]" 500 113 ')
    # nothing reached the DB: the photo the retry was for is still the SUCCESS it was
    assert db(sandbox_state, lambda m: m.MealPhoto.objects.get(id=ev["photo_id"]).status) == "SUCCESS"
    assert sandbox_state.ground_truth()["logs"]["backend"]["internal_server_error"] == 1


SHELL = ("import django; from apps.nutrition.models import Meal, MealPhoto; print('APPS LOADED', django.VERSION[0]);"
         " print('RENAMED', MealPhoto.objects.filter(processing_status='PROCESSING').count());"
         " print('STATUS', MealPhoto.objects.filter(status='PROCESSING').count())")


def test_schema_changed_breaks_the_shell_while_a_real_stuck_photo_is_injectable(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("schema_changed")
    assert ev["renamed"] == {"MealPhoto.status": "processing_status", "Meal.status": "meal_status"}
    stuck = sandbox_state.inject("stuck_photo")
    assert sandbox_state.ground_truth()["db"]["stuck_photo_ids"] == [stuck["photo_id"]]
    r = docker(sandbox_state, "exec", BACKEND, "python", "manage.py", "shell", "--no-imports", "-c", SHELL)
    assert r.returncode != 0
    assert "APPS LOADED" in r.stdout and "RENAMED 1" in r.stdout and "STATUS" not in r.stdout
    assert "django.core.exceptions.FieldError: Cannot resolve keyword 'status' into field." in r.stderr
    r = docker(sandbox_state, "exec", BACKEND, "python", "manage.py", "shell", "--no-imports", "-c",
               "from apps.nutrition.models import Meal; Meal.objects.filter(status='PROCESSING').count()")
    assert "FieldError: Cannot resolve keyword 'status' into field" in r.stderr


def test_without_schema_change_the_same_shell_works(sandbox_state: Sandbox) -> None:
    stuck = sandbox_state.inject("stuck_photo")
    r = docker(sandbox_state, "exec", BACKEND, "python", "manage.py", "shell", "--no-imports", "-c",
               "from apps.nutrition.models import MealPhoto; "
               "print('STATUS', list(MealPhoto.objects.filter(status='PROCESSING').values_list('id', flat=True)))")
    assert r.returncode == 0, r.stderr
    assert f"STATUS [{stuck['photo_id']}]" in r.stdout


def test_worker_log_warning_drops_info_lines(sandbox_state: Sandbox) -> None:
    before = len(logs(sandbox_state, WORKER))
    sandbox_state.inject("worker_log_warning")
    sandbox_state.inject("ai_upstream_errors", count=1)
    new = logs(sandbox_state, WORKER)[before:]
    assert [re.search(r": ([A-Z]+)/", ln)[1] for ln in new] == ["ERROR", "WARNING"]  # type: ignore[index]


def test_ai_upstream_errors_default_is_ten_photos_in_the_last_hour(sandbox_state: Sandbox) -> None:
    from datetime import datetime, timedelta, timezone

    ev = sandbox_state.inject("ai_upstream_errors")
    assert ev["count"] == len(ev["photo_ids"]) == len(ev["meal_ids"]) == 10 and ev["http_statuses"] == {"500": 7, "503": 3}
    rows = db(sandbox_state, lambda m: list(m.MealPhoto.objects.filter(id__in=ev["photo_ids"])
                                            .values_list("status", "error_code", "created_at")))
    hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    assert len(rows) == 10 and all(s == "FAILED" and c == "AI_SERVER_ERROR" and t > hour_ago for s, c, t in rows)
    gt = sandbox_state.ground_truth()
    assert gt["logs"]["worker"]["finalized_failed"] == gt["db"]["meals"]["FAILED"] == 10 and all(gt["agree"].values())
