"""What each fact source really covered, so a verdict never rests on data nobody saw.

`docker compose up --force-recreate` (every deploy, every rollback) gives the new container
an empty log: `--since 24h` may then cover minutes, and "no finalizations" means nothing.
The log scan reads the container's creation and start times in the same remote command
(gather.LOGS_TEMPLATE), and this module turns them into one entry per source:

    {"status": "complete" | "partial" | "error" | "not_configured",
     "requested_from": ISO, "from": ISO or None, "reason": "..."}

Sources: worker_logs, backend_logs, db, serializer, api. A restarted (not recreated)
container keeps its log, so only a creation inside the window makes a log partial; a
`--tail N` that was reached makes it partial from the first line it returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from runbooks.packs.eatfit24.monitor.parse import parse_ts
from runbooks.packs.eatfit24.monitor.window import Window

Coverage = dict[str, dict[str, Any]]
SOURCES = ("worker_logs", "backend_logs", "db", "serializer", "api")


def entry(status: str, requested_from: str | None, start: str | None, reason: str = "") -> dict[str, Any]:
    return {"status": status, "requested_from": requested_from, "from": start, "reason": reason}


def requested_start(window: Window, now: datetime) -> datetime:
    if window.start_iso:
        return datetime.fromisoformat(window.start_iso)
    return now - timedelta(seconds=int(window.seconds or 0))


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def logs_coverage(summary: Mapping[str, Any], window: Window, tail: int | None, now: datetime) -> dict[str, Any]:
    """A completed log scan: complete, or partial from the container's start / the tail.
    The window counts back from the host's clock when the scan reported it, else `now`."""
    want = requested_start(window, parse_ts(summary.get("host_now")) or now)
    req = _iso(want)
    created = started = None
    inspect = str(summary.get("inspect") or "")
    parts = inspect.split()
    if len(parts) == 2:
        created, started = parse_ts(parts[0]), parse_ts(parts[1])
    if created is None and started is None:
        return entry("partial", req, None, f"container start time unknown (docker inspect: {inspect[:200] or 'no answer'}); "
                                           "the log may not cover the window")
    if created is not None and created > want:
        begin = max(started or created, created)
        return entry("partial", req, _iso(begin),
                     f"{summary.get('container')} was created at {_iso(begin)} (recreated: deploy or rollback); "
                     f"its log starts there, not at {req}")
    read = summary.get("lines_read")
    if tail and isinstance(read, int) and read >= tail:
        first = parse_ts(summary.get("first_ts"))
        return entry("partial", req, _iso(first) if first else None,
                     f"--tail {tail} reached: the scan covers only the last {tail} lines")
    reason = ""
    if started is not None and started > want:
        reason = f"restarted at {_iso(started)} (same container: its log is kept)"
    return entry("complete", req, req, reason)


def failed(requested_from: str | None, why: str) -> dict[str, Any]:
    return entry("error", requested_from, None, why)


def db_coverage(db: Mapping[str, Any] | None, error: str | None, window: Window,
                now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """(db, serializer) entries from the Django shell's result (its own cutoff when it gave one)."""
    req = _iso(requested_start(window, now))
    if db is None or "all" in (db.get("skipped") or {}):
        why = error or ("DB checks could not start: " + str((db or {}).get("skipped", {}).get("all")))
        return failed(req, why), failed(req, why)
    cutoff = db.get("cutoff") or req
    skipped = {k: v for k, v in (db.get("skipped") or {}).items() if k not in ("serializer", "read_only")}
    ser_why = (db.get("skipped") or {}).get("serializer")
    if ser_why == "disabled by params":
        ser = entry("not_configured", cutoff, None, "server-side serializer check disabled")
    elif ser_why:
        ser = failed(cutoff, f"serializer: {ser_why}")
    else:
        ser = entry("complete", cutoff, cutoff)
    if not skipped:
        return entry("complete", cutoff, cutoff), ser
    why = "; ".join(f"{k} failed: {v}" for k, v in sorted(skipped.items()))
    done = [k for k in ("counts", "leaked_photos", "stuck_photos", "stuck_meals", "cancel_events", "resurrected")
            if k in db]
    return entry("partial" if done else "error", cutoff, cutoff if done else None, why), ser


def api_coverage(api: Mapping[str, Any] | None, error: str | None) -> dict[str, Any]:
    if error:
        return failed(None, error)
    if api is None:
        return failed(None, "API check did not run")
    if not api.get("evaluated"):
        status = "not_configured" if api.get("not_configured") else "error"
        return entry(status, None, None, str(api.get("reason") or ""))
    day = api.get("date")
    return entry("complete", day, day, f"one user's diary on {day}")


def collect(facts: Mapping[str, Any], needs: Sequence[str], window: Window, tail: int | None,
            now: datetime) -> Coverage:
    """Coverage of every source the task needed (the serializer rides with the db). `now`:
    the run's one instant (frame.py), for a source that reported no time of its own."""
    errors = facts.get("errors") or {}
    out: Coverage = {}
    for part in ("worker_logs", "backend_logs"):
        if part not in needs:
            continue
        if facts.get(part) is not None:
            out[part] = logs_coverage(facts[part], window, tail, now)
        else:
            out[part] = failed(_iso(requested_start(window, now)), errors.get(part) or "log scan did not run")
    if "db" in needs:
        out["db"], out["serializer"] = db_coverage(facts.get("db"), errors.get("db"), window, now)
    if "api" in needs:
        out["api"] = api_coverage(facts.get("api"), errors.get("api"))
    return out
