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
from pathlib import Path

from ..model import Finding

PREFIX = "runbooks_"
HELP: dict[str, str] = {
    "race_guard_cancelled": "Race guard triggers on CANCELLED photos in the window (worker log)",
    "race_guard_failed": "Race guard triggers on FAILED photos in the window (worker log)",
    "race_guard_total": "Race guard triggers in the window (worker log)",
    "race_guard_rate": "Race guard triggers / (triggers + photos updated to SUCCESS)",
    "finalized_complete": "Meals finalized as COMPLETE in the window (worker log)",
    "finalized_failed": "Meals finalized as FAILED in the window (worker log)",
    "failed_ratio": "FAILED / (COMPLETE + FAILED) finalizations",
    "cancel_duplicate_ratio": "[AI][Cancel] DUPLICATE / RECEIVED",
    "cancel_events_total": "CancelEvent rows created in the window",
    "cancel_events_noop_ratio": "Share of CancelEvents with noop=True",
    "cancel_events_zero_updated_with_ids": "CancelEvents with updated_photos=0 and meal_photo_ids (checklist's literal count)",
    "cancel_not_applied": "CancelEvents whose named photos are still PENDING/PROCESSING",
    "stuck_photos": "Photos PENDING/PROCESSING longer than the threshold",
    "stuck_meals": "Meals stuck in PROCESSING",
    "dau": "Distinct users with meals created in the window",
    "processing_time_median_s": "Median seconds from photo upload to SUCCESS",
}
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


def render(target: str, metrics: Mapping[str, float | int | None], findings: Iterable[Finding] = (),
           now: float | None = None) -> str:
    """The exposition text (one family per metric, families sorted, HELP and TYPE first)."""
    families: dict[str, list[tuple[dict[str, str], float | int]]] = {}
    helps: dict[str, str] = {}
    t = escape_label(target)
    for key, value in metrics.items():
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        base, _, suffix = key.partition(".")
        labels = {"target": t}
        if suffix and base in LABELLED:
            labels[LABELLED[base]] = escape_label(suffix)
            name = base
        else:
            name = key
        fam = metric_name(name)
        families.setdefault(fam, []).append((labels, value))
        helps[fam] = HELP.get(name, name.replace("_", " ").replace(".", " "))
    fl = list(findings)
    if fl:
        fam = metric_name("finding_active")
        helps[fam] = "1 if the finding alerted in the last run, else 0 (by finding id and severity)"
        fam_c = metric_name("finding_count")
        helps[fam_c] = "Count the finding reported in the last run"
        for f in fl:
            if f.status in ("skipped", "no_baseline"):
                continue
            labels = {"target": t, "id": escape_label(f.id), "severity": f.severity}
            families.setdefault(fam, []).append((labels, 1 if f.status == "alert" else 0))
            families.setdefault(fam_c, []).append((labels, int(f.count)))
    fam = metric_name("last_run_timestamp_seconds")
    helps[fam] = "Unix time the monitor run finished"
    families[fam] = [({"target": t}, round(time.time() if now is None else now, 3))]
    out: list[str] = []
    for fam in sorted(families):
        out.append(f"# HELP {fam} {helps[fam]}")
        out.append(f"# TYPE {fam} gauge")
        for labels, value in families[fam]:
            lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
            out.append(f"{fam}{{{lab}}} {_fmt(value)}")
    return "\n".join(out) + "\n"


def write_metrics(path: str | os.PathLike[str], target: str, metrics: Mapping[str, float | int | None],
                  findings: Iterable[Finding] = ()) -> Path:
    """Write atomically (temp file in the same directory + rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = render(target, metrics, findings)
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
