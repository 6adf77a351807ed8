"""Verdicts you can trust, over a real sshd against the sandbox: no OK that saw nothing
(a source that failed is `error` and the verdict `unknown`, exit 3), a source the
operator did not configure is `not configured` and the run still passes, a recreated
container's short log is reported as partial coverage, and the live watch streams on
the awks real hosts have (mawk, busybox) with the default --tail."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from runbooks.packs.eatfit24.monitor.coverage import logs_coverage
from runbooks.packs.eatfit24.monitor.parse import parse_ts
from runbooks.packs.eatfit24.monitor.window import parse_since
from tests.fixtures.sshd import start_sshd
from tests.helpers import events, inv_cmd, inv_env, run_dirs, run_inv, wait_for, write_config

from .test_sandbox_integration import run_monitor

WORKER = "eatfit24-celery-worker-1"


def _docker(sandbox: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{sandbox.paths.bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["docker", *args], cwd=str(sandbox.paths.project), env=env, text=True,
                          capture_output=True, timeout=60)


def test_recreated_container_is_partial_coverage_and_not_a_baseline(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                     tmp_path: Path) -> None:
    sandbox.traffic(seed=5, meals=40, hours=20)
    res, _ = run_monitor(ssh_sandbox, "monitor.all", tmp_path)
    assert res.coverage["worker_logs"]["status"] == "complete", res.coverage  # the look-alike: all of it seen
    assert res.metrics["finalized_complete"] > 0
    r = _docker(sandbox, "compose", "up", "-d", "--force-recreate", "celery-worker")
    assert r.returncode == 0, r.stderr
    started = _docker(sandbox, "inspect", "--format", "{{.State.StartedAt}}", WORKER).stdout.strip()
    res, ev = run_monitor(ssh_sandbox, "monitor.all", tmp_path)
    cov = res.coverage["worker_logs"]
    assert cov["status"] == "partial" and "recreated" in cov["reason"], cov
    assert parse_ts(cov["from"]) == parse_ts(started)
    assert parse_ts(cov["requested_from"]) < parse_ts(started)
    assert res.coverage["backend_logs"]["status"] == "complete"
    # the same question answered by the DB, and said so
    fr = next(f for f in res.findings if f.id == "failed_ratio_high")
    assert "source: DB" in fr.reason
    assert "worker_logs partial from" in res.message
    finished = [e for e in ev if e["type"] == "run_finished"][0]
    assert finished["coverage"]["worker_logs"]["status"] == "partial"
    notes = " ".join(e.get("text", "") for e in ev if e["type"] == "note")
    assert "not stored as a baseline" in notes
    md = Path(res.transcript).read_text()
    assert "| worker_logs | partial |" in md and "| backend_logs | complete |" in md


def test_tail_reached_is_partial_from_the_first_line() -> None:
    window = parse_since("24h")
    at = datetime.now(timezone.utc)
    now = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = {"container": "w", "host_now": now, "inspect": "2020-01-01T00:00:00Z 2020-01-01T00:00:00Z",
               "lines_read": 50, "first_ts": "2026-11-30T03:00:00.000000001Z"}
    cov = logs_coverage(summary, window, tail=50, now=at)
    assert cov["status"] == "partial" and cov["from"] == "2026-11-30T03:00:00Z" and "--tail 50" in cov["reason"]
    assert logs_coverage({**summary, "lines_read": 49}, window, tail=50, now=at)["status"] == "complete"
    unknown = logs_coverage({**summary, "inspect": "Error: No such object: w"}, window, tail=None, now=at)
    assert unknown["status"] == "partial" and "start time unknown" in unknown["reason"]


def test_rejected_api_credentials_make_the_verdict_unknown(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP 401 from the API is a configured source that FAILED: exit 3 with the reason on
    the verdict line, never `skipped` and exit 0 (the backend rejects day-old initData)."""
    sandbox.traffic(seed=3, meals=10, hours=6)
    monkeypatch.setenv("STALE_INIT_DATA", "query_id=x&auth_date=1&hash=deadbeef")
    target = {**ssh_sandbox, "api": {**ssh_sandbox["api"], "headers": {"X-Telegram-Init-Data": "${STALE_INIT_DATA}"}}}
    res, _ = run_monitor(target, "monitor.p0", tmp_path)
    assert (res.verdict, res.exit_code) == ("unknown", 3), res.message
    api = next(f for f in res.findings if f.id == "api_failed_meal")
    assert api.status == "error" and "HTTP 401" in api.reason
    assert res.coverage["api"]["status"] == "error"
    assert "api failed" in res.message and "P0 checks ran" in res.message


def test_api_not_configured_is_listed_and_the_run_passes(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                         tmp_path: Path) -> None:
    sandbox.traffic(seed=3, meals=10, hours=6)
    target = {k: v for k, v in ssh_sandbox.items() if k != "api"}
    res, _ = run_monitor(target, "monitor.p0", tmp_path)
    assert res.exit_code == 0, res.message
    assert res.coverage["api"]["status"] == "not_configured"
    assert next(f for f in res.findings if f.id == "api_failed_meal").status == "not_configured"
    # the server-side serializer still covers the diary question: that check ran
    assert next(f for f in res.findings if f.id == "api_non_success_photo").status == "ok"
    assert res.message.startswith("7/8 P0 checks ran") and "not configured: api" in res.message


def test_stuck_photo_with_a_failed_api_is_still_p0(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.inject("stuck_photo")
    monkeypatch.setenv("STALE_INIT_DATA", "auth_date=1&hash=00")
    target = {**ssh_sandbox, "api": {**ssh_sandbox["api"], "headers": {"X-Telegram-Init-Data": "${STALE_INIT_DATA}"}}}
    res, _ = run_monitor(target, "monitor.p0", tmp_path)
    assert (res.verdict, res.exit_code) == ("p0", 2)
    assert "stuck_photos" in res.message and "api failed" in res.message


def _awk_dir(tmp_path: Path, which: str) -> Path:
    d = tmp_path / f"awk-{which}"
    d.mkdir()
    exe = shutil.which("mawk") if which == "mawk" else shutil.which("busybox")
    if exe is None:
        pytest.skip(f"{which} not installed")
    (d / "awk").write_text(f"#!/bin/sh\nexec {exe} {'awk ' if which == 'busybox' else ''}\"$@\"\n")
    (d / "awk").chmod(0o755)
    return d


@pytest.mark.parametrize("awk", ["mawk", "busybox"])
def test_watch_shows_a_new_marker_line_within_2s(sandbox: Any, tmp_path: Path, awk: str) -> None:
    """With the DEFAULT --tail (50) and a quiet log: nothing fills a pipe buffer for us."""
    awkdir = _awk_dir(tmp_path, awk)
    srv = start_sshd(tmp_path / "sshd", path_prepend=f"{awkdir}:{sandbox.paths.bin_dir}")
    try:
        cfg = write_config(tmp_path / "runbooks.yaml", {"box": srv.target(**sandbox.target_fields())},
                           default_target="box")
        tr = tmp_path / "transcripts"
        proc = subprocess.Popen(inv_cmd("monitor.watch"), env=inv_env(cfg, tr), cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: run_dirs(tr) and any(e["type"] == "command" for e in events(run_dirs(tr)[0])),
                     timeout=30, what="the follow command to start")
            wait_for(lambda: subprocess.run(["pgrep", "-f", f"{sandbox.paths.bin_dir}/docker logs -f --tail 50 --timestamps {WORKER}"],
                                            capture_output=True).returncode == 0, timeout=30,
                     what="docker logs -f on the host")
            marker = f"[AI] MealPhoto 990{len(awk)} updated to SUCCESS with 2 items"
            stamp = datetime.now(timezone.utc)
            rec = {"log": f"[{stamp:%Y-%m-%d %H:%M:%S},000: INFO/ForkPoolWorker-1] {marker}\n", "stream": "stdout",
                   "time": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f000Z")}
            log = sandbox.paths.log_file(WORKER)
            written = time.monotonic()
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")

            def seen() -> bool:
                return any(e["type"] == "watch_line" and marker in e.get("text", "") for e in events(run_dirs(tr)[0]))

            wait_for(seen, timeout=10, what="the marker line in the watch")
            assert time.monotonic() - written <= 2.0
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
            # Ctrl-C ends the follow on the host too (this test's own state dir names it)
            wait_for(lambda: subprocess.run(["pgrep", "-f", f"{sandbox.paths.bin_dir}/docker logs -f"],
                                            capture_output=True).returncode != 0, timeout=10,
                     what="the host's docker logs -f to end")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
    finally:
        srv.stop()


def test_run_inv_json_carries_coverage(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    r = run_inv(["monitor.stuck", "--json"], inv_env(cfg, tmp_path / "transcripts"), tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc["coverage"]) == {"db", "serializer"} and doc["coverage"]["db"]["status"] == "complete"
    assert doc["message"] == "2/2 checks ran"
