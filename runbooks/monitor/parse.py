"""Facts from machine-readable output: the filtered log stream and the DB script's JSON.

Log messages are matched unanchored (Celery's `[time: LEVEL/Process] ` prefix usually
precedes worker messages; backend cancel lines are bare) on the exact format strings of
eatfit24 (reference/eatfit24.md). The host-side filter (gather.py) tags each line it
passes as `<line-number> <M|E|C> <docker line>`: M marker, E exception/error line,
C context around an E line. The line number lets us rebuild exception blocks.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RESULT_TAG = "RUNBOOKS_RESULT "
EXIT_TAG = "RUNBOOKS_EXIT "

DOCKER_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ?(.*)$")
RACE_RE = re.compile(r"\[AI\] Photo (\S+) is in terminal state (\w+), discarding results")
SUCCESS_RE = re.compile(r"\[AI\] MealPhoto (\S+) updated to SUCCESS with (\S+) items")
FINAL_RE = re.compile(r"\[MealService\] Finalized meal_id=(\S+) as (COMPLETE|FAILED)")
ORPHAN_RE = re.compile(r"\[MealService\] Meal (\S+) has no photos, deleting orphan")
CANCEL_RE = re.compile(r"\[AI\]\[Cancel\] ([A-Z_]+)(.*)$")
_KV_RE = re.compile(r"(\w+)=(\[[^\]]*\]|\S+)")
FINALIZATION_HINT_RE = re.compile(r"finaliz|\[MealService\]|MealService", re.IGNORECASE)
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


def split_docker_ts(line: str) -> tuple[str | None, str]:
    m = DOCKER_TS_RE.match(line)
    return (m.group(1), m.group(2)) if m else (None, line)


def parse_filtered(output: str) -> FilteredLog:
    """Parse the host-side filter's output (see gather.LOG_FILTER_AWK)."""
    out = FilteredLog()
    for raw in output.splitlines():
        parts = raw.split(" ", 2)
        if len(parts) >= 2 and parts[1] == "S" and raw[len(parts[0]) + 3:].startswith(EXIT_TAG):
            try:
                out.exit_code = int(raw.rsplit(" ", 1)[1])
            except ValueError:
                out.malformed += 1
            continue
        if len(parts) < 2 or not parts[0].isdigit() or parts[1] not in ("M", "E", "C"):
            out.malformed += 1
            continue
        ts, text = split_docker_ts(parts[2] if len(parts) == 3 else "")
        out.lines.append(LogLine(int(parts[0]), parts[1], ts, text))
    out.lines.sort(key=lambda ln: ln.nr)
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
    if re.search(r"Traceback|Error|Exception|ERROR|CRITICAL", text):
        return "error"
    return "other"


def cancel_fields(text: str) -> dict[str, str]:
    m = CANCEL_RE.search(text)
    if not m:
        return {}
    return {k: v for k, v in _KV_RE.findall(m.group(2))}


def parse_ts(ts: str | None) -> datetime | None:
    """Docker RFC 3339 nano -> aware datetime (microseconds)."""
    if not ts:
        return None
    head, _, frac = ts.partition(".")
    zone = ""
    if frac:
        digits = re.match(r"\d+", frac)
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
    race: list[dict[str, Any]] = []
    finalized: list[dict[str, Any]] = []
    success: list[dict[str, Any]] = []
    cancel: dict[str, list[dict[str, Any]]] = {}
    for ln in flog.lines:
        if ln.tag != "M":
            continue
        kind = classify(ln.text)
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
        elif kind.startswith("cancel_"):
            fields = cancel_fields(ln.text)
            cancel.setdefault(kind[len("cancel_"):].upper(), []).append({**ev, **fields})
            if kind == "cancel_received":
                reasons[fields.get("reason", "not_specified")] += 1
    blocks = []
    in_blocks: set[int] = set()
    for block in error_blocks(flog.lines):
        in_blocks.update(x.nr for x in block)
        text = "\n".join(x.text for x in block)
        blocks.append({
            "container": container,
            "first_ts": block[0].ts,
            "lines": [{"ts": x.ts, "line": x.text} for x in block],
            "finalization": bool(FINALIZATION_HINT_RE.search(text)),
            "cancel": bool(CANCEL_HINT_RE.search(text)),
        })
    standalone = [ln.evidence(container) for ln in flog.lines
                  if ln.tag == "M" and classify(ln.text) == "cancel_exception" and ln.nr not in in_blocks]
    return {
        "container": container,
        "exit_code": flog.exit_code,
        "lines_passed": len(flog.lines),
        "malformed": flog.malformed,
        "counts": dict(counts),
        "received_by_reason": dict(reasons),
        "race_guard": race,
        "finalized": finalized,
        "photo_success": success,
        "cancel": cancel,
        "error_blocks": blocks,
        "cancel_exception_lines": standalone,
    }


def _int(v: str) -> int | str:
    return int(v) if v.isdigit() else v


def extract_result(stdout: str) -> dict[str, Any] | None:
    """The DB script's one tagged JSON line (the LAST one: banners and prints are ignored)."""
    found: dict[str, Any] | None = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_TAG):
            try:
                value = json.loads(line[len(RESULT_TAG):])
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                found = value
    return found
