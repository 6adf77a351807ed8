"""Facts from machine-readable output: the filtered log stream and the DB script's JSON.

Log messages are matched unanchored (Celery's `[time: LEVEL/Process] ` prefix usually
precedes worker messages; backend cancel lines are bare) on the exact format strings of
eatfit24 (reference/eatfit24.md). The host-side filter (runbooks/blocks/logscan.py with
gather.SCAN) tags each line it passes as `<line-number> <M1|E|C> <docker line>`: M marker,
E exception/error line, C context around an E line; its parser gives them to us as M, E
and C. The line number lets us rebuild exception blocks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runbooks.blocks import djshell
from runbooks.blocks.logscan import parse_scan
from runbooks.packs.eatfit24.monitor.gather import ERROR_ERE

RESULT_TAG = "RUNBOOKS_RESULT "
EXIT_TAG = "RUNBOOKS_EXIT "

DOCKER_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ?(.*)$")
RACE_RE = re.compile(r"\[AI\] Photo (\S+) is in terminal state (\w+), discarding results")
SUCCESS_RE = re.compile(r"\[AI\] MealPhoto (\S+) updated to SUCCESS with (\S+) items")
FINAL_RE = re.compile(r"\[MealService\] Finalized meal_id=(\S+) as (COMPLETE|FAILED)")
ORPHAN_RE = re.compile(r"\[MealService\] Meal (\S+) has no photos, deleting orphan")
CANCEL_RE = re.compile(r"\[AI\]\[Cancel\] ([A-Z_]+)(.*)$")
LEGACY_MARK_RE = re.compile(r"\[AI\] Mark MealPhoto (\S+) as CANCELLED")
LEGACY_TASK_RE = re.compile(r"\[AI\] Task cancelled: task_id=(\S*)")
AI_FAILED_RE = re.compile(r"\[AI:FAILED\] (.*)$")
SERVER_ERROR_RE = re.compile(r"Internal Server Error: (\S+)")
# Error-level lines of failures the app HANDLES: the AI upstream failed, the photo goes
# FAILED and the meal is finalized. The system working, not an exception in finalization.
HANDLED_ERROR_RE = re.compile(
    r"\[AI\] Proxy error: |\[AI\] controlled error |\[AI:FAILED\] |\[AI:EMPTY_ITEMS\] |"
    r"\[AI Proxy\] Request to .*\| status=\d+ |"
    r"Task apps\.ai\.tasks\.\S+ succeeded in \S+: \{.*'error_code': "
)
_KV_RE = re.compile(r"(\w+)=(\[[^\]]*\]|\S+)")
# the finalization code: its log lines and its frames. Not every [MealService] line: the upload
# view logs `[MealService] Created new draft meal_id=...`, and a 500 there is no finalization P0.
FINALIZATION_HINT_RE = re.compile(r"finaliz|deleting orphan|meal_service", re.IGNORECASE)
CANCEL_HINT_RE = re.compile(r"cancel", re.IGNORECASE)

CANCEL_KINDS = (
    "RECEIVED", "DUPLICATE", "MEAL_MISSING", "MEAL_LOOKUP_ERROR", "EVENT_SAVED", "RACE_CONDITION",
    "NOOP", "PROCESSED", "REVOKED", "REVOKE_FAILED", "UPDATED_PHOTOS", "EXCEPTION",
)


@dataclass(frozen=True)
class LogLine:
    nr: int
    tag: str  # M | E | C
    ts: str | None  # docker RFC 3339 timestamp (UTC), if present
    text: str  # the message after the docker timestamp

    def evidence(self, container: str) -> dict[str, Any]:
        return {"container": container, "ts": self.ts, "line": self.text}


@dataclass
class FilteredLog:
    lines: list[LogLine] = field(default_factory=list)
    exit_code: int | None = None  # docker's exit status, reported through the pipe
    malformed: int = 0
    host_now: str | None = None  # the host's clock when the scan started (UTC)
    inspect: str | None = None  # `docker inspect`: "<Created> <State.StartedAt>", or its error
    first_ts: str | None = None  # docker timestamp of the first log line read
    lines_read: int | None = None  # log lines docker returned (before filtering)


def split_docker_ts(line: str) -> tuple[str | None, str]:
    m = DOCKER_TS_RE.match(line)
    return (m.group(1), m.group(2)) if m else (None, line)


_SIDE = {"NOW": "host_now", "STARTED": "inspect", "FIRST": "first_ts"}


def parse_filtered(output: str) -> FilteredLog:
    """Parse the host-side filter's output (runbooks/blocks/logscan.py, gather.SCAN)."""
    scan = parse_scan(output)
    out = FilteredLog(exit_code=scan.exit_code, malformed=scan.malformed, lines_read=scan.lines_read)
    for key, attr in _SIDE.items():
        setattr(out, attr, scan.side.get(key) or None)
    for ln in scan.lines:
        ts, text = split_docker_ts(ln.text)
        out.lines.append(LogLine(ln.nr, ln.tag, ts, text))
    return out


def classify(text: str) -> str:
    """One message -> its kind (shared by the scan and `monitor.watch`)."""
    if m := RACE_RE.search(text):
        return f"race_guard_{m.group(2).lower()}"
    if SUCCESS_RE.search(text):
        return "photo_success"
    if m := FINAL_RE.search(text):
        return f"finalized_{m.group(2).lower()}"
    if ORPHAN_RE.search(text):
        return "orphan_deleted"
    if m := CANCEL_RE.search(text):
        return f"cancel_{m.group(1).lower()}"
    if LEGACY_MARK_RE.search(text):
        return "legacy_cancel_marked"
    if LEGACY_TASK_RE.search(text):
        return "legacy_task_cancelled"
    if AI_FAILED_RE.search(text):
        return "ai_failed"
    if HANDLED_ERROR_RE.search(text):
        return "ai_handled_error"
    if ERROR_RE.search(text):
        return "error"
    return "other"


ERROR_RE = re.compile(ERROR_ERE)  # the same pattern the host filter passes with context


def is_handled_error(text: str) -> bool:
    return bool(HANDLED_ERROR_RE.search(text)) and "Traceback" not in text


def cancel_fields(text: str) -> dict[str, str]:
    m = CANCEL_RE.search(text)
    if not m:
        return {}
    return {k: v for k, v in _KV_RE.findall(m.group(2))}


_DIGITS_RE = re.compile(r"\d+")


def parse_ts(ts: str | None) -> datetime | None:
    """Docker RFC 3339 nano -> aware datetime (microseconds)."""
    if not ts:
        return None
    head, _, frac = ts.partition(".")
    zone = ""
    if frac:
        digits = _DIGITS_RE.match(frac)
        zone = frac[digits.end():] if digits else frac
        frac = (digits.group(0) if digits else "")[:6].ljust(6, "0")
        head = f"{head}.{frac}"
    else:
        zone = head[19:]
        head = head[:19]
    try:
        return datetime.fromisoformat(head + (zone.replace("Z", "+00:00") or "+00:00"))
    except ValueError:
        return None


def error_blocks(lines: list[LogLine]) -> list[list[LogLine]]:
    """Group E lines with their context: maximal runs of consecutive line numbers that
    contain at least one E line (adjacent marker lines belong to the block: they are the
    "near finalization" evidence)."""
    blocks: list[list[LogLine]] = []
    cur: list[LogLine] = []
    for ln in lines:
        if cur and ln.nr != cur[-1].nr + 1:
            if any(x.tag == "E" for x in cur):
                blocks.append(cur)
            cur = []
        cur.append(ln)
    if cur and any(x.tag == "E" for x in cur):
        blocks.append(cur)
    return blocks


def summarize_log(output: str, container: str) -> dict[str, Any]:
    """The facts one container's filtered log holds (JSON-serialisable)."""
    flog = parse_filtered(output)
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    ai_failed_by: Counter[str] = Counter()
    race: list[dict[str, Any]] = []
    finalized: list[dict[str, Any]] = []
    success: list[dict[str, Any]] = []
    legacy: list[dict[str, Any]] = []
    ai_failed: list[dict[str, Any]] = []
    cancel: dict[str, list[dict[str, Any]]] = {}
    kinds: dict[int, str] = {}  # M lines' kinds by position, for the standalone cancel exceptions below
    for pos, ln in enumerate(flog.lines):
        if ln.tag != "M":
            continue
        kind = kinds[pos] = classify(ln.text)
        counts[kind] += 1
        ev = ln.evidence(container)
        if kind.startswith("race_guard_"):
            m = RACE_RE.search(ln.text)
            assert m
            race.append({**ev, "photo_id": _int(m.group(1)), "state": m.group(2)})
        elif kind.startswith("finalized_"):
            m = FINAL_RE.search(ln.text)
            assert m
            finalized.append({**ev, "meal_id": _int(m.group(1)), "as": m.group(2)})
        elif kind == "photo_success":
            m = SUCCESS_RE.search(ln.text)
            assert m
            success.append({"photo_id": _int(m.group(1)), "ts": ln.ts})
        elif kind == "legacy_cancel_marked":
            m = LEGACY_MARK_RE.search(ln.text)
            assert m
            legacy.append({**ev, "photo_id": _int(m.group(1))})
        elif kind == "ai_failed":
            fields = dict(_KV_RE.findall(ln.text))
            category = fields.get("category", "unknown")
            ai_failed_by[label(category)] += 1
            ai_failed.append({"photo_id": _int(fields.get("photo_id", "")), "meal_id": _int(fields.get("meal_id", "")),
                              "error_code": fields.get("error_code"), "category": category, "ts": ln.ts})
        elif kind.startswith("cancel_"):
            fields = cancel_fields(ln.text)
            cancel.setdefault(kind[len("cancel_"):].upper(), []).append({**ev, **fields})
            if kind == "cancel_received":
                reasons[fields.get("reason", "not_specified")] += 1
    blocks = []
    in_blocks: set[int] = set()
    for block in error_blocks(flog.lines):
        in_blocks.update(x.nr for x in block)
        errs = [x for x in block if x.tag == "E"]
        text = "\n".join(x.text for x in block)
        handled = all(is_handled_error(x.text) for x in errs)
        server = [m.group(1) for x in errs if (m := SERVER_ERROR_RE.search(x.text))]
        blocks.append({
            "container": container,
            "first_ts": block[0].ts,
            "lines": [{"ts": x.ts, "line": x.text} for x in block],
            # handled: every error line is an AI upstream failure the app handled (the photo
            # went FAILED, the meal was finalized): a metric, never an exception finding
            "handled": handled,
            "traceback": any("Traceback" in x.text for x in errs),
            "server_error_paths": server,
            "exception": next((x.text for x in reversed(errs) if _EXC_LINE_RE.match(x.text)), None),
            "finalization": not handled and bool(FINALIZATION_HINT_RE.search(text)),
            "cancel": not handled and bool(CANCEL_HINT_RE.search(text)),
        })
    standalone = [ln.evidence(container) for pos, ln in enumerate(flog.lines)
                  if kinds.get(pos) == "cancel_exception" and ln.nr not in in_blocks]
    return {
        "container": container,
        "exit_code": flog.exit_code,
        "lines_passed": len(flog.lines),
        "lines_read": flog.lines_read,
        "first_ts": flog.first_ts,
        "host_now": flog.host_now,
        "inspect": flog.inspect,
        "malformed": flog.malformed,
        "counts": dict(counts),
        "received_by_reason": dict(reasons),
        "ai_failed_by_category": dict(ai_failed_by),
        "race_guard": race,
        "finalized": finalized,
        "photo_success": success,
        "legacy_cancel_marked": legacy,
        "ai_failed": ai_failed,
        "cancel": cancel,
        "error_blocks": blocks,
        "cancel_exception_lines": standalone,
    }


# `django.db.utils.IntegrityError: ...`, `ValueError: ...`: the exception a traceback ends with
_EXC_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Violation)\b:?")


def label(value: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", value.lower())[:64] or "empty"


def _int(v: str) -> int | str:
    return int(v) if v.isdigit() else v


def extract_result(stdout: str) -> dict[str, Any] | None:
    """The DB script's one tagged JSON line (the LAST one: banners and prints are ignored)."""
    return djshell.parse(stdout, RESULT_TAG)
