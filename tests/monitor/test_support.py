"""History baselines, Prometheus output, window/section vars, watch and schedule helpers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from runbooks.errors import ConfigError, InputError
from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.custom import evaluate_custom, validate
from runbooks.packs.eatfit24.monitor.follow import WatchCounters, follow_commands
from runbooks.packs.eatfit24.monitor.history import History, history_path, window_key
from runbooks.packs.eatfit24.monitor.prometheus import render, write_metrics
from runbooks.packs.eatfit24.monitor.schedule import next_run, run_times
from runbooks.packs.eatfit24.monitor.sections import run_vars
from runbooks.packs.eatfit24.monitor.window import parse_since, parse_tail

from .logs import BACKEND_LINES, WORKER_LINES


def test_history_baseline_excludes_current_and_needs_values(tmp_path: Path) -> None:
    h = History(tmp_path / "h" / "history.sqlite3")
    key = window_key("24h", None)
    assert h.baselines("prod", key)["race_guard_rate"].n == 0
    for v in (0.1, 0.2, 0.3, None):
        h.record("prod", key, "monitor.all", {"race_guard_rate": v, "dau": 10})
    h.record("prod", window_key("6h", None), "monitor.all", {"race_guard_rate": 9.0})
    h.record("staging", key, "monitor.all", {"race_guard_rate": 9.0})
    b = h.baselines("prod", key)
    assert (b["race_guard_rate"].n, b["race_guard_rate"].median) == (3, 0.2)
    assert b["dau"].median == 10
    assert h.baselines("prod", key, limit=2)["race_guard_rate"].n == 1  # newest two runs: None and 0.3


def test_history_path(tmp_path: Path) -> None:
    assert history_path("/x/t", {"RUNBOOKS_HISTORY": "/y/h.db"}) == Path("/y/h.db")
    assert history_path("/x/t", {}) == Path("/x/t/history.sqlite3")
    assert history_path(None, {"RUNBOOKS_TRANSCRIPTS": "/z"}) == Path("/z/history.sqlite3")


def test_prometheus_text_format(tmp_path: Path) -> None:
    metrics = {"race_guard_cancelled": 3, "failed_ratio": None, "cancel_duplicate_ratio": 0.25,
               "cancel_received_by_reason.user_cancel": 2, "cancel_received_by_reason.not_specified": 1}
    findings = [Finding("stuck_photos", "P0", "t", count=2), Finding("race_guard_spike", "P1", "t", status="no_baseline")]
    text = render('pr"od', metrics, findings, now=1700000000.0)
    assert "runbooks_failed_ratio" not in text  # n/a is omitted, never NaN
    assert '# TYPE runbooks_race_guard_cancelled gauge' in text
    assert 'runbooks_race_guard_cancelled{target="pr\\"od"} 3' in text
    assert 'runbooks_cancel_received_by_reason{target="pr\\"od",reason="user_cancel"} 2' in text
    assert 'runbooks_finding_active{target="pr\\"od",id="stuck_photos",severity="P0"} 1' in text
    assert "race_guard_spike" not in text
    assert 'runbooks_last_run_timestamp_seconds{target="pr\\"od"} 1700000000.0' in text
    # every sample line is name{labels} value and follows its family's HELP and TYPE
    fam = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            fam = line.split()[2]
        elif line.startswith("# TYPE "):
            assert line.split()[2] == fam
        else:
            assert re.match(r'^runbooks_[a-z0-9_]+\{target="[^\n]*"(,[a-z]+="[^"]*")*\} -?[0-9.e+]+$', line), line
            assert line.startswith(fam + "{")  # type: ignore[operator]
    out = write_metrics(tmp_path / "textfile" / "runbooks.prom", "prod", metrics, findings)
    assert out.read_text().startswith("# HELP ")
    assert [p.name for p in out.parent.iterdir()] == ["runbooks.prom"]  # no temp file left behind


def test_window_validation() -> None:
    assert parse_since("24h").docker == "24h"
    w = parse_since("1d2h30m")
    assert (w.docker, w.seconds) == ("26h30m", 95400)
    assert parse_since("90").docker == "1m30s"
    w = parse_since("2026-01-15T10:00:00.123456789Z")
    assert w.docker == "2026-01-15T10:00:00.123456789Z" and w.start_iso == "2026-01-15T10:00:00.123456+00:00"
    for bad in ("", "24x", "-1h", "0", "24h; rm -rf /", "$(id)", "2026-01-15", None, 5):
        with pytest.raises(InputError, match="--since"):
            parse_since(bad)
    assert parse_tail(None) is None and parse_tail("1000") == 1000
    for bad in ("0", "-3", "ten", True):
        with pytest.raises(InputError, match="--tail"):
            parse_tail(bad)


def test_run_vars_per_task() -> None:
    v = run_vars("monitor.p0")
    # the backend log: legacy cancels and their finalizations (cancelled_photo_resurrected)
    assert v["needs"] == ["worker_logs", "backend_logs", "db", "api"] and "stuck_photos" in v["checks"]
    assert run_vars("monitor.all")["needs"] == ["worker_logs", "backend_logs", "db", "api"]
    assert run_vars("monitor.stuck")["needs"] == ["db"]
    assert run_vars("monitor.finalization")["needs"] == ["worker_logs", "backend_logs", "db"]
    assert run_vars("monitor.cancel_events")["section"] == "cancel-events"
    assert run_vars("monitor.errors")["needs"] == ["worker_logs", "backend_logs"]
    assert run_vars("monitor.api", since="6h", tail="500")["tail"] == 500
    with pytest.raises(InputError):
        run_vars("monitor.nope")
    with pytest.raises(InputError):
        run_vars("monitor.all", since="yesterday")


def test_watch_classification_and_counters() -> None:
    c = WatchCounters()
    kinds = [c.add("w", line).kind for line in WORKER_LINES[1:7]]  # type: ignore[union-attr]
    assert kinds[0] == "race_guard_cancelled"
    c.add("b", BACKEND_LINES[8] + "\n")
    assert c.total["cancel_duplicate"] == 1 and c.by_container["w"]["finalized_failed"] == 1
    assert c.add("b", "  \n") is None
    assert "race_guard_cancelled=1" in c.summary() and "cancel_duplicate=1" in c.summary()
    cmds = follow_commands({"worker": "w1", "backend": "b1"})
    r = cmds[0].render()
    # one streaming awk filters and tags (mawk gets -W interactive); no grep (busybox has no
    # --line-buffered, GNU grep stops at a NUL byte)
    assert "docker logs -f --tail 50 --timestamps w1 2>&1 | awk $W -v p=worker " in r and "grep" not in r
    assert "*mawk*) W=\"-W interactive\"" in r
    assert " b1 2>&1 | awk $W -v p=backend " in cmds[1].render() and cmds[0].stream


def test_schedule() -> None:
    t0 = datetime(2026, 1, 15, tzinfo=timezone.utc)
    times = run_times(t0, "6h", "24h")
    assert times == [t0 + timedelta(hours=h) for h in (0, 6, 12, 18, 24)]
    assert run_times(t0, None, None) == [t0]
    assert next_run(times, t0 + timedelta(hours=7)) == t0 + timedelta(hours=12)
    assert next_run(times, t0 + timedelta(hours=25)) is None
    with pytest.raises(InputError, match="--every"):
        run_times(t0, "6x", "24h")
    with pytest.raises(InputError, match="shorter"):
        run_times(t0, "6h", "1h")


def test_custom_rules() -> None:
    rules = [{"id": "few_cancels", "severity": "P2", "when": "cancel_events_total < 10", "title": "few"},
             {"id": "by_reason", "severity": "P2", "when": "metrics['cancel_received_by_reason.x'] > 1"},
             {"id": "na", "severity": "P1", "when": "failed_ratio > 0.1"}]
    validate(rules, {"stuck_photos"})
    out = {f.id: f for f in evaluate_custom(rules, {"cancel_events_total": 3, "failed_ratio": None,
                                                    "cancel_received_by_reason.x": 1})}
    assert out["few_cancels"].status == "alert" and out["by_reason"].status == "ok"
    assert out["na"].status == "skipped"
    with pytest.raises(ConfigError, match="id"):
        validate([{"id": "stuck_photos", "severity": "P0", "when": "1"}], {"stuck_photos"})
    with pytest.raises(ConfigError, match="when"):
        validate([{"id": "x_y", "severity": "P0", "when": "a ="}], set())
    with pytest.raises(ConfigError, match="when"):
        validate([{"id": "x_y", "severity": "P0", "when": 3}], set())
    escape = [{"id": "esc", "severity": "P0", "when": "().__class__.__base__.__subclasses__()"}]
    validate(escape, set())  # compiles; the sandbox refuses it at evaluation
    # a rule that cannot be evaluated (refused by the sandbox, raises) is that rule's error
    refused = evaluate_custom(escape, {})[0]
    assert refused.status == "error" and "SecurityError" in refused.reason
    broken = evaluate_custom([{"id": "zero", "severity": "P1", "when": "1 / cancel_events_total > 1"}],
                             {"cancel_events_total": 0})[0]
    assert broken.status == "error" and "ZeroDivisionError" in broken.reason
