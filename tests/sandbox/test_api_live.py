"""The meals API and the live worker over real HTTP on 127.0.0.1."""

from __future__ import annotations

import re
import uuid

from runbooks.sandbox import Sandbox
from tests.sandbox.helpers import api, docker, wait_for

WORKER = "eatfit24-celery-worker-1"


def photo_statuses(sb: Sandbox, day: str) -> list[str]:
    status, body = api(sb, "GET", f"/api/v1/meals/?date={day}")
    assert status == 200
    return [p["status"] for m in body["meals"] for p in m["photos"]]


def test_auth_and_bad_input(sandbox: Sandbox) -> None:
    assert api(sandbox, "GET", "/api/v1/meals/?date=2026-01-15", auth=False)[0] == 401
    assert api(sandbox, "GET", "/api/v1/meals/?date=2026-01-15", auth=False,
               headers={"X-Telegram-Init-Data": "forged"})[0] == 401
    status, body = api(sandbox, "GET", "/api/v1/meals/?date=15.01.2026")
    assert status == 400 and "error" in body
    status, body = api(sandbox, "GET", "/api/v1/meals/")
    assert status == 200 and set(body) == {"count", "next", "previous", "results"}


def test_api_shows_only_success_photos_unless_leak(sandbox: Sandbox) -> None:
    sandbox.traffic(seed=11, meals=80, hours=6)
    a = sandbox.scenario("A")
    b = sandbox.scenario("B")
    status, body = api(sandbox, "GET", f"/api/v1/meals/?date={a['date']}")
    assert set(body) >= {"date", "daily_goal", "total_consumed", "progress", "meals"}
    ids = [m["id"] for m in body["meals"]]
    assert a["meal_id"] in ids and b["meal_id"] not in ids  # FAILED meals excluded
    meal = next(m for m in body["meals"] if m["id"] == a["meal_id"])
    assert [p["status"] for p in meal["photos"]] == ["SUCCESS"] and meal["photos_count"] == 3
    assert "items" not in meal["photos"][0]
    assert set(photo_statuses(sandbox, a["date"])) == {"SUCCESS"}
    ev = sandbox.inject("serializer_leak")
    leaked = [p["id"] for m in api(sandbox, "GET", f"/api/v1/meals/?date={a['date']}")[1]["meals"]
              for p in m["photos"] if p["status"] != "SUCCESS"]
    assert sorted(leaked) == ev["api_user_non_success_photo_ids"] and leaked


def test_failed_meal_in_api(sandbox: Sandbox) -> None:
    ev = sandbox.inject("failed_meal_in_api")
    meals = api(sandbox, "GET", f"/api/v1/meals/?date={ev['date']}")[1]["meals"]
    assert sorted(m["id"] for m in meals if m["status"] == "FAILED") == ev["api_user_failed_meal_ids"]


def upload(sb: Sandbox, **fields: object) -> dict:
    status, body = api(sb, "POST", "/api/v1/ai/recognize/", {"meal_type": "LUNCH", **fields})
    assert status == 202, body
    return body


def task(sb: Sandbox, task_id: str) -> dict:
    return api(sb, "GET", f"/api/v1/ai/task/{task_id}/")[1]


def test_live_upload_cancel_race_guard(sandbox: Sandbox) -> None:
    first = upload(sandbox, sandbox_delay=0.2)
    done = wait_for(lambda: task(sandbox, first["task_id"])["status"] == "SUCCESS" and task(sandbox, first["task_id"]),
                    what="first photo SUCCESS")
    assert done["meal_status"] == "COMPLETE"
    slow = upload(sandbox, sandbox_delay=1.5)  # scenario C, live
    wait_for(lambda: task(sandbox, slow["task_id"])["status"] == "PROCESSING", what="PROCESSING")
    status, resp = api(sandbox, "POST", "/api/v1/ai/cancel/", {
        "client_cancel_id": str(uuid.uuid4()), "meal_id": slow["meal_id"],
        "meal_photo_ids": [slow["meal_photo_id"]], "task_ids": [slow["task_id"]]})
    assert status == 200 and resp["updated_photos"] == 1 and resp["noop"] is False
    pattern = f"Photo {slow['meal_photo_id']} is in terminal state CANCELLED, discarding results"
    wait_for(lambda: pattern in docker(sandbox, "logs", WORKER, merge=True).stdout, what="race guard line")
    wait_for(lambda: task(sandbox, slow["task_id"])["meal_status"] == "FAILED", what="meal FAILED")
    gt = sandbox.ground_truth()
    assert all(gt["agree"].values()) and gt["db"]["cancelled_photos_with_results"] == []


def test_duplicate_cancel_is_idempotent(sandbox: Sandbox) -> None:
    body = {"client_cancel_id": str(uuid.uuid4()), "reason": "user_cancelled"}
    first, again = api(sandbox, "POST", "/api/v1/ai/cancel/", body)[1], api(sandbox, "POST", "/api/v1/ai/cancel/", body)[1]
    assert first["noop"] is True and again["noop"] is True
    logs = docker(sandbox, "logs", "eatfit24-backend-1", merge=True).stdout
    assert len(re.findall(r"\[AI\]\[Cancel\] DUPLICATE client_cancel_id=" + body["client_cancel_id"], logs)) == 1
    assert sandbox.ground_truth()["db"]["cancel_events"] == 1


def test_race_guard_off_lets_a_late_success_land(sandbox: Sandbox) -> None:
    sandbox.inject("race_guard_off")
    up = upload(sandbox, sandbox_delay=1.0)
    wait_for(lambda: task(sandbox, up["task_id"])["status"] == "PROCESSING", what="PROCESSING")
    api(sandbox, "POST", "/api/v1/ai/cancel/", {"client_cancel_id": str(uuid.uuid4()), "meal_id": up["meal_id"],
                                                 "meal_photo_ids": [up["meal_photo_id"]]})
    wait_for(lambda: sandbox.ground_truth()["db"]["cancelled_photos_with_results"] == [up["meal_photo_id"]],
             what="late SUCCESS on the cancelled photo")


def test_stopped_worker_leaves_uploads_pending(sandbox: Sandbox) -> None:
    docker(sandbox, "exec", WORKER, "pkill", "-f", "celery worker")
    up = upload(sandbox, sandbox_delay=0.1)
    assert task(sandbox, up["task_id"])["status"] == "PENDING"
    docker(sandbox, "compose", "up", "-d", "celery-worker", cwd=str(sandbox.paths.project))
    wait_for(lambda: task(sandbox, up["task_id"])["status"] == "SUCCESS", what="processed after restart")
