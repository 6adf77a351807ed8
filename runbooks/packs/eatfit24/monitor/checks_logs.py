"""The checks read from the containers' filtered logs (with the DB where it helps):
exceptions near finalization or in the cancel flow, server errors, resurrected photos.
Each is one `@check` record and its function (check.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.check import ROLLBACK, Check, check
from runbooks.packs.eatfit24.monitor.facts import Facts, block_evidence, db_part, logs
from runbooks.packs.eatfit24.monitor.parse import parse_ts

if TYPE_CHECKING:
    from runbooks.packs.eatfit24.monitor.anomaly import Baselines
    from runbooks.packs.eatfit24.monitor.derive import Metrics
    from runbooks.packs.eatfit24.monitor.thresholds import Settings


# finalizations happen in both containers (the legacy cancel endpoint finalizes in the backend)
@check("finalization_exception", "P0", "Exception near meal finalization in the logs",
       f"Check the worker logs around the exception; may need rollback: {ROLLBACK}", "2. Meal finalization",
       needs=("worker_logs", "backend_logs"), also=("errors",))
def finalization_exception(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    w, why = logs(facts, "worker_logs")
    if w is None:
        return c.make(s, "skipped", reason=why)
    blocks = [x for x in w.get("error_blocks", []) if x.get("finalization")]
    b_logs = facts.get("backend_logs") or {}
    blocks += [x for x in b_logs.get("error_blocks", []) if x.get("finalization")]
    return c.alert_or_ok(s, len(blocks), [block_evidence(x) for x in blocks],
                         threshold="any exception/traceback near [MealService] finalization")


@check("cancel_exception", "P1", "Exception in the cancel flow",
       "Check the backend/worker logs around the exception (POST /api/v1/ai/cancel/, task revocation)",
       "Cheatsheet: errors during cancel", needs=("backend_logs", "worker_logs"))
def cancel_exception(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    back, why = logs(facts, "backend_logs")
    w = facts.get("worker_logs")
    if back is None and w is None:
        return c.make(s, "skipped", reason=why)
    ev: list[dict[str, Any]] = []
    for part in (back, w):
        if part:
            ev += [block_evidence(x) for x in part.get("error_blocks", []) if x.get("cancel") and not x.get("finalization")]
            ev += part.get("cancel_exception_lines", [])
    f = c.alert_or_ok(s, len(ev), ev, threshold="any exception in the cancel flow")
    if back is None:
        f.reason = f"backend logs not checked: {why}"
    return f


@check("cancelled_photo_resurrected", "P0", "Cancelled photo came back (SUCCESS or active after its cancel)",
       "P0: a photo the user cancelled reached SUCCESS afterwards, so its results are in the diary. Check that the AI "
       "task does not overwrite CANCELLED (apps/ai/tasks.py: status set to PROCESSING/SUCCESS without the race "
       f"guard); {ROLLBACK}", "6. Cancel events", needs=("db", "backend_logs", "worker_logs"))
def cancelled_photo_resurrected(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    """A photo a cancel applied to that is SUCCESS (or active) afterwards. From the DB
    (CancelEvents that updated their photos) and from the logs: a cancel line for the
    photo (the batch endpoint's UPDATED_PHOTOS, the legacy endpoint's `Mark MealPhoto N as
    CANCELLED`) followed by the worker's `MealPhoto N updated to SUCCESS`. A photo that
    reached SUCCESS after a cancel was active when the cancel ran, so the cancel applied."""
    part, db_why = db_part(facts, "resurrected")
    w, back = facts.get("worker_logs"), facts.get("backend_logs")
    if part is None and (w is None or back is None):
        return c.make(s, "skipped", reason=db_why or "")
    ev: dict[Any, dict[str, Any]] = {}
    for row in (part or {}).get("sample", []):
        ev[row.get("photo_id")] = dict(row)
    if w is not None and back is not None:
        success: dict[Any, Any] = {}
        for row in w.get("photo_success", []):
            ts = parse_ts(row.get("ts"))
            if ts is not None:
                success.setdefault(row.get("photo_id"), ts)
        for pid, cancelled_at, how in _log_cancels(back):
            done = success.get(pid)
            if done is not None and done > cancelled_at:
                row = ev.setdefault(pid, {"photo_id": pid, "source": "logs"})
                row.update({"cancelled_at_log": cancelled_at.isoformat(), "success_at_log": done.isoformat(), "cancel_line": how})
                if row.get("source") == "db":
                    row["source"] = "db+logs"
    n = max(len(ev), int((part or {}).get("count") or 0))
    f = c.alert_or_ok(s, n, list(ev.values()), threshold="any")
    if part is None:
        f.reason = f"from the logs only: {db_why}"
    return f


def _log_cancels(back: Mapping[str, Any]) -> list[tuple[Any, Any, str]]:
    out = []
    for row in (back.get("cancel") or {}).get("UPDATED_PHOTOS", []):
        ts = parse_ts(row.get("ts"))
        if ts is None:
            continue
        for pid in re.findall(r"\d+", str(row.get("meal_photo_ids") or "")):
            out.append((int(pid), ts, "UPDATED_PHOTOS"))
    for row in back.get("legacy_cancel_marked", []):
        ts = parse_ts(row.get("ts"))
        if ts is not None:
            out.append((row.get("photo_id"), ts, "legacy Mark ... as CANCELLED"))
    return out


@check("backend_server_error", "P1", "Unhandled exception in the backend (HTTP 500)",
       "Read the traceback in the evidence; a 500 on /api/v1/ai/* breaks uploads or cancels for that user",
       "Cheatsheet: errors", needs=("backend_logs",))
def backend_server_error(c: Check, facts: Facts, s: "Settings", m: "Metrics", b: "Baselines") -> Finding:
    back, why = logs(facts, "backend_logs")
    if back is None:
        return c.make(s, "skipped", reason=why)
    ev = []
    for blk in back.get("error_blocks", []):
        for path in blk.get("server_error_paths") or []:
            ev.append({"container": blk.get("container"), "ts": blk.get("first_ts"), "path": path,
                       "exception": blk.get("exception"), "lines": blk.get("lines", [])[:14]})
    return c.alert_or_ok(s, len(ev), ev, threshold="any `Internal Server Error` (HTTP 500)")
