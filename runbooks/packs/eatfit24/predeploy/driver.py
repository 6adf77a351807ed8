"""Drivers: the scenarios' UI steps performed by runbooks itself, as HTTP requests from the
operator's machine (every request goes through the runner, so it is recorded, and the
target's configured auth headers are added there, never here).

The `sandbox` driver speaks the sandbox's phone-side endpoints (runbooks/sandbox/backend/
apps/ai/views.py), which mirror what eatfit24's frontend does:
  upload   POST /api/v1/ai/recognize/  {meal_id?, sandbox_delay, sandbox_outcome}
           -> 202 {task_id, meal_id, meal_photo_id}
  poll     GET  /api/v1/ai/task/<task_id>/ -> {status (the photo's), meal_status, ...}
  cancel   POST /api/v1/ai/cancel/  {client_cancel_id, run_id, meal_id, meal_photo_ids, task_ids, reason}
           (the real cancel endpoint) -> 200 {cancelled_tasks, updated_photos, noop, ...}
`sandbox_delay` makes the timing the checklist asks for deterministic: a short first photo
(A's "wait for the 1st SUCCESS"), and photos still PROCESSING when Cancel is clicked.

The `eatfit24` driver (eatfit24.py) speaks the real API as the Mini App does and cannot
set the timing: a run whose timing did not happen comes back `inconclusive`.
The sandbox driver stays the default for role sandbox; `predeploy.driver` picks one.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from typing import Any

from runbooks.config import Target
from runbooks.model import HttpRequest, HttpResponse, Note
from runbooks.packs.eatfit24.predeploy.poll import Backoff
from runbooks.steps.base import StepContext

DRIVERS = ("sandbox", "eatfit24")
FAST_S = 0.5  # a photo the scenario waits to see SUCCESS
SLOW_S = 3.0  # photos that must still be PROCESSING when Cancel is clicked


Gen = Generator[Any, Any, Any]


class DriverError(Exception):
    """A UI step could not be performed (the message says which and why)."""


@dataclass
class DriveRun:
    driver: str = "sandbox"
    attempt: int = 1
    meal_id: int | None = None
    photo_ids: list[int] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    cancel: dict[str, Any] | None = None
    cancel_request: dict[str, Any] | None = None
    actions: list[str] = field(default_factory=list)
    meals_created: list[int] = field(default_factory=list)  # test meals to list / clean up
    statuses: dict[str, str] = field(default_factory=dict)  # photo id -> last status seen
    # non-empty: the timing the scenario needs did not happen (what happened instead)
    inconclusive: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def did(self, action: str) -> Gen:
        self.actions.append(action)
        yield Note(f"driver: {action}")


def driver_name(target: Target) -> str | None:
    """The target's driver: `predeploy.driver`, else `sandbox` for role sandbox, else none."""
    name = target.predeploy.get("driver")
    if name is None and target.role == "sandbox":
        name = "sandbox"
    return str(name) if name in DRIVERS else None


def response_json(resp: HttpResponse, what: str, ok: tuple[int, ...]) -> dict[str, Any]:
    """A driver's API answer as a JSON object, or DriverError saying what went wrong (both drivers)."""
    if resp.error or resp.status not in ok:
        text = resp.body[:200].decode("utf-8", "replace")
        hint = " (X-Telegram-Init-Data expired? it is valid 24 h)" if resp.status == 401 else ""
        raise DriverError(f"{what}: {resp.error or f'HTTP {resp.status}'}{hint} {text}".strip())
    try:
        body = resp.json()
    except ValueError as exc:
        raise DriverError(f"{what}: response is not JSON") from exc
    if not isinstance(body, dict):
        raise DriverError(f"{what}: response is not an object")
    return body


def _upload(base: str, run: DriveRun, delay: float, timeout: float) -> Gen:
    body: dict[str, Any] = {"sandbox_delay": delay, "sandbox_outcome": "success"}
    if run.meal_id is not None:
        body["meal_id"] = run.meal_id
    resp = yield HttpRequest("POST", f"{base}/api/v1/ai/recognize/", body=body, timeout=timeout)
    doc = response_json(resp, f"upload photo {len(run.photo_ids) + 1}", (200, 201, 202))
    if run.meal_id is None:
        run.meals_created.append(int(doc["meal_id"]))
    run.meal_id = int(doc["meal_id"])
    run.photo_ids.append(int(doc["meal_photo_id"]))
    run.task_ids.append(str(doc["task_id"]))
    yield from run.did(f"uploaded photo {doc['meal_photo_id']} to meal {doc['meal_id']} (task {doc['task_id']})")


def _wait_photo(base: str, run: DriveRun, index: int, states: tuple[str, ...], deadline: float, timeout: float) -> Gen:
    """Poll the photo's task until its status is one of `states` (the UI's spinner)."""
    backoff = Backoff(deadline, first=0.1, cap=1.0)
    status = "?"
    while True:
        resp = yield HttpRequest("GET", f"{base}/api/v1/ai/task/{run.task_ids[index]}/", timeout=timeout)
        if resp.status == 200:
            status = str(response_json(resp, "poll task", (200,)).get("status"))
            if status in states:
                yield from run.did(f"photo {run.photo_ids[index]} is {status}")
                return status
        if not backoff.wait():
            raise DriverError(f"photo {run.photo_ids[index]} did not reach {'/'.join(states)} within {deadline:g} s (last: {status})")


def _cancel(base: str, run: DriveRun, timeout: float) -> Gen:
    body = {"client_cancel_id": str(uuid.uuid4()), "run_id": random.randint(1, 9999), "meal_id": run.meal_id,
            "meal_photo_ids": list(run.photo_ids), "task_ids": list(run.task_ids), "reason": "user_cancelled"}
    resp = yield HttpRequest("POST", f"{base}/api/v1/ai/cancel/", body=body, timeout=timeout)
    run.cancel = response_json(resp, "cancel", (200,))
    yield from run.did(f"clicked Cancel: updated_photos={run.cancel.get('updated_photos')} "
                         f"cancelled_tasks={run.cancel.get('cancelled_tasks')}")


def drive(key: str, ctx: StepContext, deadline: float, attempt: int = 1, run: DriveRun | None = None) -> Gen:
    """Perform scenario `key`'s UI steps; returns a DriveRun (`inconclusive` says when the
    timing the scenario needs did not happen). Raises DriverError. `run` is filled as it
    goes, so a caller keeps the meals created even when a step fails."""
    name = driver_name(ctx.target)
    if name is None or not ctx.target.api.base_url:
        raise DriverError(f"target {ctx.target.name} has no driver")
    run = run if run is not None else DriveRun()
    run.driver, run.attempt = name, attempt
    if name == "eatfit24":
        from runbooks.packs.eatfit24.predeploy.eatfit24 import drive_eatfit24

        return (yield from drive_eatfit24(key, ctx, deadline, run, attempt - 1))
    base = ctx.target.api.base_url
    t = ctx.target.api.timeout
    if key == "A":  # 3 photos; wait for the 1st SUCCESS; Cancel; Done (nothing server-side)
        for delay in (FAST_S, SLOW_S, SLOW_S):
            yield from _upload(base, run, delay, t)
        yield from _wait_photo(base, run, 0, ("SUCCESS", "FAILED", "CANCELLED"), deadline, t)
        yield from _cancel(base, run, t)
    elif key == "B":  # 2 photos; Cancel before any SUCCESS (once the worker has them)
        for _ in range(2):
            yield from _upload(base, run, SLOW_S, t)
        for i in range(2):
            yield from _wait_photo(base, run, i, ("PROCESSING", "SUCCESS", "FAILED", "CANCELLED"), deadline, t)
        yield from _cancel(base, run, t)
    elif key == "C":  # 1 photo; Cancel during PROCESSING; the late result arrives afterwards
        yield from _upload(base, run, SLOW_S, t)
        yield from _wait_photo(base, run, 0, ("PROCESSING", "SUCCESS", "FAILED", "CANCELLED"), deadline, t)
        yield from _cancel(base, run, t)
    else:
        raise DriverError(f"unknown scenario {key!r}")
    return run
