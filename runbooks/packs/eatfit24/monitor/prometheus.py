"""`--metrics-out FILE`: the run's metrics in Prometheus text exposition format.

Meant for node_exporter's textfile collector: every series carries a `target` label,
names get the `runbooks_` prefix, n/a values (None) are omitted rather than written as
NaN, and the file is written to a temp file in the same directory and renamed over the
old one, so the collector never reads a half-written file.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runbooks.model import Finding, RunResult

PREFIX = "runbooks_"
# Every value is a gauge (a count or ratio over the run's window, or a state now), so by
# Prometheus naming no name ends in _total (that suffix is for counters); ratios end in
# _ratio and durations in _seconds. The run's metric keys (JSON, history) stay as they are.
NAMES: dict[str, str] = {
    "race_guard_total": "race_guard_triggers",
    "race_guard_rate": "race_guard_ratio",
    "cancel_events_total": "cancel_events",
    "cancel_rate": "cancel_ratio",
    "meals_total": "meals",
    "photos_total": "photos",
    "meals_processing_total": "meals_processing_now",
    "processing_time_median_s": "processing_time_median_seconds",
}
HELP: dict[str, str] = {
    "race_guard_cancelled": "Race guard triggers on CANCELLED photos in the window (worker log)",
    "race_guard_failed": "Race guard triggers on FAILED photos in the window (worker log)",
    "race_guard_total": "Race guard triggers in the window (worker log)",
    "race_guard_rate": "Race guard triggers / (triggers + photos updated to SUCCESS) in the window",
    "finalized_complete": "Meals finalized as COMPLETE in the window (worker log)",
    "finalized_failed": "Meals finalized as FAILED in the window (worker log)",
    "failed_ratio": "FAILED / (COMPLETE + FAILED) finalizations in the window",
    "photos_success_logged": "Photos updated to SUCCESS in the window (worker log)",
    "orphan_meals_deleted": "Orphan meals deleted in the window (worker log)",
    "worker_error_blocks": "ERROR/traceback blocks in the worker log in the window",
    "worker_finalization_error_blocks": "ERROR/traceback blocks near finalization in the worker log in the window",
    "worker_log_lines_passed": "Worker log lines that passed the host-side marker filter",
    "backend_error_blocks": "ERROR/traceback blocks in the backend log in the window",
    "backend_log_lines_passed": "Backend log lines that passed the host-side marker filter",
    "cancel_duplicate_ratio": "[AI][Cancel] DUPLICATE / RECEIVED log lines in the window",
    "cancel_received_by_reason": "[AI][Cancel] RECEIVED log lines in the window, by cancel reason",
    "cancel_log_noop_ratio": "[AI][Cancel] NOOP / RECEIVED log lines in the window",
    "cancel_events_total": "CancelEvent rows created in the window",
    "cancel_events_noop": "CancelEvent rows with noop=True in the window",
    "cancel_events_noop_ratio": "Share of CancelEvents with noop=True in the window",
    "cancel_events_with_action": "CancelEvent rows that changed something (not noop) in the window",
    "cancel_events_with_action_ratio": "Share of CancelEvents that changed something in the window",
    "cancel_events_avg_updated_photos": "Average updated_photos per CancelEvent in the window",
    "cancel_events_zero_updated_with_ids": "CancelEvents with updated_photos=0 and meal_photo_ids (checklist's literal count)",
    "cancel_not_applied": "CancelEvents whose named photos are still PENDING/PROCESSING",
    "cancel_rate": "CANCELLED photos / all photos created in the window",
    "stuck_photos": "Photos PENDING/PROCESSING longer than the stuck threshold, now",
    "stuck_photos_processing": "Photos PROCESSING longer than the stuck threshold, now",
    "stuck_meals": "Meals stuck in PROCESSING, now",
    "cancelled_photos_with_results": "CANCELLED photos that have recognition results (race guard failed)",
    "failed_photos_with_results": "FAILED photos whose late results wrote food items",
    "meals_items_without_success_photo": "Meals with food items but no SUCCESS photo",
    "meals_total": "Meals created in the window, any status",
    "photos_total": "Photos created in the window, any status",
    "meals_processing_total": "Meals in PROCESSING now, of any age",
    "dau": "Distinct users with meals created in the window",
    "processing_time_median_s": "Median seconds from photo upload to SUCCESS in the window",
    "processing_time_samples": "Photos behind the processing-time median",
    "serializer_meals_rendered": "Meals rendered through MealSerializer by the DB check",
    "serializer_non_success_photos": "Non-SUCCESS photos MealSerializer returned (should be 0)",
    "api_meals": "Meals the meals API returned for today",
    "api_photos": "Photos the meals API returned for today",
    "api_failed_meals": "FAILED meals the meals API returned for today (should be 0)",
    "api_non_success_photos": "Non-SUCCESS photos the meals API returned for today (should be 0)",
}
_PREFIX_HELP = (
    ("photos_", "Photos created in the window with status {}"),
    ("meals_", "Meals created in the window with status {}"),
    ("cancel_log_", "[AI][Cancel] {} log lines in the window (backend log)"),
)
VERDICTS = ("ok", "warn", "p0", "failed", "unknown", "error", "aborted")


def exposition_name(key: str) -> str:
    """A run metric's Prometheus name (without the prefix), by the naming rules above."""
    if key in NAMES:
        return NAMES[key]
    name = key
    for old, new in (("_total", ""), ("_rate", "_ratio"), ("_s", "_seconds")):
        if name.endswith(old):
            name = name[: -len(old)] + new
    return name


def help_text(key: str) -> str:
    if key in HELP:
        return HELP[key]
    for prefix, text in _PREFIX_HELP:
        if key.startswith(prefix):
            return text.format(key[len(prefix):].upper())
    return f"runbooks monitor metric {key!r} for the run's window"


LABELLED = {"cancel_received_by_reason": "reason"}
_NAME_RE = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(name: str) -> str:
    return PREFIX + _NAME_RE.sub("_", name)


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(v: float | int) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    return repr(float(v))


@dataclass
class RunMetrics:
    """One target's run, as --metrics-out writes it."""

    target: str
    metrics: Mapping[str, float | int | None]
    findings: Iterable[Finding] = ()
    verdict: str | None = None
    exit_code: int | None = None
    duration_s: float | None = None
    now: float | None = None


def run_metrics(result: RunResult, target: str | None = None) -> RunMetrics:
    """A finished run's metrics, findings, verdict, exit code and duration."""
    from datetime import datetime

    try:
        took: float | None = (datetime.fromisoformat(result.finished_at.replace("Z", "+00:00"))
                              - datetime.fromisoformat(result.started_at.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        took = None
    return RunMetrics(target or result.target, result.metrics, list(result.findings), result.verdict,
                      result.exit_code, took)


Families = dict[str, list[tuple[dict[str, str], float | int]]]


def _add_run(run: RunMetrics, families: Families, helps: dict[str, str]) -> None:
    t = escape_label(run.target)
    for key, value in run.metrics.items():
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        base, _, suffix = key.partition(".")
        labels = {"target": t}
        if suffix and base in LABELLED:
            labels[LABELLED[base]] = escape_label(suffix)
            name = base
        else:
            name = key
        fam = metric_name(exposition_name(name))
        families.setdefault(fam, []).append((labels, value))
        helps[fam] = help_text(name)
    fl = list(run.findings)
    if fl:
        fam = metric_name("finding_active")
        helps[fam] = "1 if the finding alerted in the last run, else 0 (by finding id and severity)"
        fam_c = metric_name("finding_count")
        helps[fam_c] = "How many items the finding counted in the last run (by finding id and severity)"
        for f in fl:
            if f.status in ("skipped", "no_baseline"):
                continue
            labels = {"target": t, "id": escape_label(f.id), "severity": f.severity}
            families.setdefault(fam, []).append((labels, 1 if f.status == "alert" else 0))
            families.setdefault(fam_c, []).append((labels, int(f.count)))
    fam = metric_name("last_run_timestamp_seconds")
    helps[fam] = "Unix time the monitor run finished"
    families.setdefault(fam, []).append(({"target": t}, round(time.time() if run.now is None else run.now, 3)))
    if run.verdict is not None:
        fam = metric_name("last_run_verdict")
        helps[fam] = ("1 for the verdict of the last monitor run, 0 for the others (ok, warn, p0, failed, unknown, "
                      "error, aborted)")
        names = VERDICTS if run.verdict in VERDICTS else (*VERDICTS, run.verdict)
        families.setdefault(fam, []).extend(({"target": t, "verdict": escape_label(v)}, 1 if v == run.verdict else 0)
                                            for v in names)
    if run.exit_code is not None:
        fam = metric_name("last_run_exit_code")
        helps[fam] = ("Exit code of the last monitor run: 0 ok, 1 warnings, 2 P0 or failed step, 3 could not run or "
                      "unknown, 4 aborted")
        families.setdefault(fam, []).append(({"target": t}, int(run.exit_code)))
    if run.duration_s is not None:
        fam = metric_name("last_run_duration_seconds")
        helps[fam] = "Wall-clock seconds the last monitor run took"
        families.setdefault(fam, []).append(({"target": t}, round(float(run.duration_s), 3)))


def render_runs(runs: Iterable[RunMetrics]) -> str:
    """The exposition text for one or more targets' runs: one family per metric (each
    target a labelled series in it), families sorted, HELP and TYPE first."""
    families: Families = {}
    helps: dict[str, str] = {}
    for run in runs:
        _add_run(run, families, helps)
    out: list[str] = []
    for fam in sorted(families):
        out.append(f"# HELP {fam} {helps[fam]}")
        out.append(f"# TYPE {fam} gauge")
        for labels, value in families[fam]:
            lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
            out.append(f"{fam}{{{lab}}} {_fmt(value)}")
    return "\n".join(out) + "\n"


def render(target: str, metrics: Mapping[str, float | int | None], findings: Iterable[Finding] = (),
           now: float | None = None, verdict: str | None = None, exit_code: int | None = None,
           duration_s: float | None = None) -> str:
    """One target's run as exposition text."""
    return render_runs([RunMetrics(target, metrics, findings, verdict, exit_code, duration_s, now)])


def write_metrics(path: str | os.PathLike[str], target: str, metrics: Mapping[str, float | int | None],
                  findings: Iterable[Finding] = (), verdict: str | None = None, exit_code: int | None = None,
                  duration_s: float | None = None) -> Path:
    return write_runs(path, [RunMetrics(target, metrics, findings, verdict, exit_code, duration_s)])


def write_runs(path: str | os.PathLike[str], runs: Iterable[RunMetrics]) -> Path:
    """Write atomically (temp file in the same directory + rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = render_runs(runs)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p
