"""The `eatfit24` driver: the scenarios' UI steps as the Mini App performs them against the
real API (reference/eatfit24.md, "The phone side of the AI flow"):

  upload   POST /api/v1/ai/recognize/  multipart: image (a JPEG file), meal_type, date,
           meal_id (multi-photo: the batch's meal), user_comment -> 202 {task_id, meal_id, meal_photo_id, status}
  poll     GET  /api/v1/ai/task/<task_id>/ -> the task's state (the photo's status)
  cancel   POST /api/v1/ai/cancel/  {client_cancel_id (fresh UUID), run_id, meal_id, ALL the
           batch's meal_photo_ids, the task_ids still in flight, reason "user_cancel"}

Recognition takes as long as it takes, so the driver adapts (more photos on a retry of A,
Cancel the moment the first SUCCESS is seen, right after the upload for B, while PROCESSING
for C) and says so when the timing a scenario needs did not happen (`DriveRun.inconclusive`):
such a run proves nothing either way and is retried by the step, never judged."""

from __future__ import annotations

import random
import uuid
from collections.abc import Generator
from datetime import datetime, timedelta, timezone
from typing import Any

from runbooks.model import FilePart, HttpRequest, HttpResponse
from runbooks.packs.eatfit24.predeploy.photos import Photo, PhotosError, load_photos
from runbooks.packs.eatfit24.predeploy.poll import Backoff
from runbooks.steps.base import StepContext

TERMINAL = ("SUCCESS", "FAILED", "CANCELLED")
# Celery task states some endpoints report, as the photo states the scenarios speak of
_CELERY = {"STARTED": "PROCESSING", "RETRY": "PROCESSING", "RECEIVED": "PENDING", "FAILURE": "FAILED",
           "REVOKED": "CANCELLED", "CANCELED": "CANCELLED", "ERROR": "FAILED", "DONE": "SUCCESS", "COMPLETED": "SUCCESS"}
MSK = timezone(timedelta(hours=3))  # the app's TIME_ZONE (Europe/Moscow, no DST)
MEAL_TYPE = "SNACK"
COMMENT = "runbooks predeploy test photo"
MAX_PHOTOS = 8

Gen = Generator[Any, Any, Any]


def photo_count(key: str, attempt: int) -> int:
    """A: 3 photos (the checklist), 2 more on each retry, so something is still in flight
    when the first SUCCESS arrives; B: 2; C: 1."""
    if key == "A":
        return min(MAX_PHOTOS, 3 + 2 * attempt)
    return 2 if key == "B" else 1


def task_status(doc: dict[str, Any]) -> str:
    """The photo status a task poll reports, in MealPhoto's terms: a photo-level field when
    the endpoint gives one, else `status`/`state` (Celery's states mapped). A Celery SUCCESS
    whose result is a handled error or a discarded (race-guarded) result is not a photo SUCCESS."""
    for key in ("photo_status", "meal_photo_status", "status", "state"):
        if doc.get(key) not in (None, ""):
            value = str(doc[key]).upper()
            break
    else:
        return "?"
    status = _CELERY.get(value, value)
    result = doc.get("result")
    if status == "SUCCESS" and isinstance(result, dict):
        if result.get("error_code") or str(result.get("status", "")).lower() == "failed":
            return "FAILED"
        if str(result.get("status", "")).lower() == "discarded":
            return "CANCELLED"
    return status


def _json(resp: HttpResponse, what: str, ok: tuple[int, ...]) -> dict[str, Any]:
    from runbooks.packs.eatfit24.predeploy.driver import response_json

    return response_json(resp, what, ok)


class Eatfit24Driver:
    def __init__(self, ctx: StepContext, deadline: float) -> None:
        from runbooks.packs.eatfit24.predeploy.driver import DriverError

        self.base = str(ctx.target.api.base_url)
        self.timeout = ctx.target.api.timeout
        self.deadline = deadline
        try:
            self.photos: list[Photo] = load_photos(ctx.target.predeploy.get("photos_dir"))
        except PhotosError as exc:
            raise DriverError(str(exc)) from exc
        self.date = datetime.now(MSK).date().isoformat()

    # -- the Mini App's requests ------------------------------------------------------------
    def upload(self, run: Any) -> Gen:
        photo = self.photos[len(run.photo_ids) % len(self.photos)]
        form = {"meal_type": MEAL_TYPE, "date": self.date, "user_comment": COMMENT}
        if run.meal_id is not None:
            form["meal_id"] = str(run.meal_id)
        resp = yield HttpRequest("POST", f"{self.base}/api/v1/ai/recognize/", form=form,
                                 files=(FilePart("image", photo.name, photo.content, photo.content_type),),
                                 timeout=self.timeout)
        doc = _json(resp, f"upload photo {len(run.photo_ids) + 1} ({photo.name})", (200, 201, 202))
        try:
            meal_id, photo_id, task_id = int(doc["meal_id"]), int(doc["meal_photo_id"]), str(doc["task_id"])
        except (KeyError, TypeError, ValueError) as exc:
            from runbooks.packs.eatfit24.predeploy.driver import DriverError

            raise DriverError(f"upload: the response lacks task_id/meal_id/meal_photo_id: {doc}") from exc
        if run.meal_id is None:
            run.meals_created.append(meal_id)
        run.meal_id = meal_id
        run.photo_ids.append(photo_id)
        run.task_ids.append(task_id)
        run.statuses[str(photo_id)] = task_status(doc) if doc.get("status") else "PENDING"
        yield from run.did(f"uploaded {photo.name} as photo {photo_id} of meal {meal_id} (task {task_id})")

    def poll(self, run: Any, index: int) -> Gen:
        resp = yield HttpRequest("GET", f"{self.base}/api/v1/ai/task/{run.task_ids[index]}/", timeout=self.timeout)
        status = task_status(_json(resp, f"poll task {run.task_ids[index]}", (200,)))
        run.statuses[str(run.photo_ids[index])] = status
        return status

    def cancel(self, run: Any, in_flight: list[str]) -> Gen:
        body = {"client_cancel_id": str(uuid.uuid4()), "run_id": random.randint(1, 2**31 - 1),  # noqa: S311 - an id
                "meal_id": run.meal_id, "meal_photo_ids": list(run.photo_ids), "task_ids": list(in_flight),
                "reason": "user_cancel"}
        resp = yield HttpRequest("POST", f"{self.base}/api/v1/ai/cancel/", body=body, timeout=self.timeout)
        run.cancel = _json(resp, "cancel", (200,))
        run.cancel_request = body
        yield from run.did(f"clicked Cancel ({len(body['meal_photo_ids'])} photo(s), {len(in_flight)} task(s) in flight): "
                           f"updated_photos={run.cancel.get('updated_photos')} cancelled_tasks={run.cancel.get('cancelled_tasks')}")

    # -- waiting ----------------------------------------------------------------------------
    def _in_flight(self, run: Any) -> list[int]:
        return [i for i, p in enumerate(run.photo_ids) if run.statuses.get(str(p)) not in TERMINAL]

    def wait_any(self, run: Any, wanted: tuple[str, ...]) -> Gen:
        """Poll the photos still in flight until one reports a status in `wanted` (its index),
        or none is left in flight (None)."""
        from runbooks.packs.eatfit24.predeploy.driver import DriverError

        backoff = Backoff(self.deadline, first=0.1, cap=0.5)
        while True:
            flying = self._in_flight(run)
            if not flying:
                return None
            for i in flying:
                status = yield from self.poll(run, i)
                if status in wanted:
                    yield from run.did(f"photo {run.photo_ids[i]} is {status}")
                    return i
            if not backoff.wait():
                raise DriverError(f"no photo reached {'/'.join(wanted)} within {self.deadline:g} s ({self.seen(run)})")

    @staticmethod
    def seen(run: Any) -> str:
        return ", ".join(f"photo {p} {run.statuses.get(str(p), '?')}" for p in run.photo_ids)

    def cancel_updates(self, run: Any, need: int, what: str) -> str:
        """'' when Cancel changed at least `need` photos, else why the scenario was not exercised."""
        updated = run.cancel.get("updated_photos") if run.cancel else None
        if isinstance(updated, int) and updated >= need:
            return ""
        return f"{what} (Cancel answered updated_photos={updated}; last seen: {self.seen(run)})"

    # -- the scenarios ----------------------------------------------------------------------
    def scenario(self, key: str, run: Any, attempt: int) -> Gen:
        n = photo_count(key, attempt)
        for _ in range(n):
            yield from self.upload(run)
        if key == "A":  # Cancel the moment the first SUCCESS is seen, with the rest in flight
            first = yield from self.wait_any(run, ("SUCCESS",))
            flying = self._in_flight(run)
            if first is None:
                run.inconclusive = f"no photo of {n} reached SUCCESS, nothing left to cancel ({self.seen(run)})"
                return
            if not flying:
                run.inconclusive = f"all {n} photos had finished when the first SUCCESS was seen ({self.seen(run)})"
                return
            yield from self.cancel(run, [run.task_ids[i] for i in flying])
            run.inconclusive = self.cancel_updates(run, 1, f"every photo of {n} finished before Cancel landed")
        elif key == "B":  # Cancel right after the uploads, before any result
            yield from self.cancel(run, list(run.task_ids))
            run.inconclusive = self.cancel_updates(run, n, f"not all {n} photos were still active when Cancel landed")
        else:  # C: Cancel while the photo is PROCESSING
            hit = yield from self.wait_any(run, ("PROCESSING",))
            if hit is None:
                run.inconclusive = f"the photo finished before it was seen PROCESSING ({self.seen(run)})"
                return
            yield from self.cancel(run, [run.task_ids[hit]])
            run.inconclusive = self.cancel_updates(run, 1, "the photo finished before Cancel landed")


def drive_eatfit24(key: str, ctx: StepContext, deadline: float, run: Any, attempt: int) -> Gen:
    yield from Eatfit24Driver(ctx, deadline).scenario(key, run, attempt)
    return run
