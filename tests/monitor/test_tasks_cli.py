"""The monitor tasks as a user runs them: `inv monitor.*` subprocesses over a real sshd."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.helpers import events, inv_cmd, inv_env, run_dirs, run_inv, write_config


def _env(tmp_path: Path, target: dict[str, Any]) -> tuple[dict[str, str], Path]:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": target}, default_target="box")
    tr = tmp_path / "transcripts"
    return inv_env(cfg, tr), tr


def test_p0_json_and_metrics_out(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    sandbox.traffic(seed=11, meals=20, hours=12)
    evidence = sandbox.inject("stuck_photo")
    env, tr = _env(tmp_path, ssh_sandbox)
    prom = tmp_path / "textfile" / "runbooks.prom"
    prom.parent.mkdir()
    r = run_inv(["monitor.p0", "--json", "--metrics-out", str(prom)], env, tmp_path)
    assert r.returncode == 2, r.stderr
    doc = json.loads(r.stdout)  # exactly one JSON document on stdout
    assert doc["playbook"] == "monitor.p0" and doc["verdict"] == "p0" and doc["exit_code"] == 2
    stuck = next(f for f in doc["findings"] if f["id"] == "stuck_photos")
    assert stuck["severity"] == "P0" and stuck["count"] == 1
    assert stuck["evidence"][0]["photo_id"] == evidence["photo_id"]
    assert {s["name"] for s in doc["steps"]} >= {"gather", "api-check", "evaluate"}
    text = prom.read_text()
    assert '# TYPE runbooks_stuck_photos gauge' in text or "runbooks_stuck_photos" in text
    assert 'target="box"' in text
    assert sandbox.init_data not in r.stdout + r.stderr + text


def test_bad_since_is_refused_before_connecting(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    env, tr = _env(tmp_path, ssh_sandbox)
    r = run_inv(["monitor.all", "--since", "24h; rm -rf /"], env, tmp_path)
    assert r.returncode == 3 and "--since" in r.stderr
    assert not run_dirs(tr)


def test_watch_follows_both_containers_and_ctrl_c_ends_cleanly(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                               tmp_path: Path) -> None:
    sandbox.traffic(seed=2, meals=40, hours=2)
    env, tr = _env(tmp_path, ssh_sandbox)
    proc = subprocess.Popen(inv_cmd("monitor.watch", "--tail", "400"), env=env, cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def lines_seen() -> bool:
        dirs = run_dirs(tr)
        seen = {e["container"] for e in events(dirs[0]) if e["type"] == "watch_line"} if dirs else set()
        return len(seen) == 2

    try:
        deadline = time.monotonic() + 30
        while not lines_seen():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no marker lines arrived"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, err
    ev = events(run_dirs(tr)[0])
    kinds = {e["kind"] for e in ev if e["type"] == "watch_line"}
    containers = {e["container"] for e in ev if e["type"] == "watch_line"}
    assert containers == {"eatfit24-celery-worker-1", "eatfit24-backend-1"}
    assert kinds & {"finalized_complete", "photo_success"} and any(k.startswith("cancel_") for k in kinds)
    assert ev[-1]["type"] == "run_finished" and "counters:" in out
    assert (run_dirs(tr)[0] / "transcript.md").exists()
    # the follow processes are gone on the host
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-f", "docker logs -f"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "docker logs -f survived Ctrl-C"
        time.sleep(0.05)


def test_every_for_runs_each_time_with_its_own_transcript(sandbox_target: dict[str, Any], sandbox: Any,
                                                          tmp_path: Path) -> None:
    env, tr = _env(tmp_path, sandbox_target)
    r = run_inv(["monitor.p0", "--every", "3s", "--for", "3s"], env, tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    runs = [d for d in run_dirs(tr) if "monitor.p0" in d.name]
    assert len(runs) == 2
    assert "monitor runs so far (2 of 2)" in r.stdout
    r = run_inv(["monitor.p0", "--every", "1h", "--for", "10m"], env, tmp_path)
    assert r.returncode == 3 and "shorter than --every" in r.stderr
