"""Issue 12 item 5: SIGTERM is recorded as SIGTERM and handled like Ctrl-C (watch included:
the host's `docker logs -f` pipeline does not outlive the run), Ctrl-C stops `--every`
loops, and aborted or degraded monitor runs never become baselines."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from runbooks.sshd import SshServer
from tests.helpers import events, inv_cmd, inv_env, run_dirs, run_inv, wait_for, write_config, write_playbook
from tests.record.helpers import ssh_target


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(inv_cmd(*args), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _pgrep(pattern: str) -> list[str]:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()


def _finish(p: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    try:
        return p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_sigterm_is_recorded_as_sigterm_and_stops_the_remote_command(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_target(sshd, tmp_path / "project")}, default_target="box")
    pb = write_playbook(tmp_path / "pb.yml", "p", [
        {"name": "long", "kind": "shell", "params": {"command": "sleep 32.25"}},
        {"name": "after", "kind": "shell", "always": True, "params": {"command": f"touch {tmp_path / 'always-ran'}"}}])
    p = _start(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr"), tmp_path)
    wait_for(lambda: _pgrep("sleep 32.25"), timeout=30, what="the command on the host")
    p.send_signal(signal.SIGTERM)
    out, err = _finish(p)
    assert p.returncode == 4, (out[-2000:], err[-2000:])
    wait_for(lambda: not _pgrep("sleep 32.25"), timeout=15, what="the remote command to be gone")
    assert (tmp_path / "always-ran").exists()
    (run,) = run_dirs(tmp_path / "tr")
    evs = events(run)
    interrupted = [e for e in evs if e["type"] == "interrupted"]
    assert len(interrupted) == 1 and "SIGTERM" in interrupted[0]["message"]
    assert "Ctrl-C" not in interrupted[0]["message"].replace("handled like Ctrl-C", "")
    fin = [e for e in evs if e["type"] == "run_finished"][0]
    assert fin["verdict"] == "aborted" and "SIGTERM" in fin["message"]


def test_sigterm_stops_watch_and_its_follow_on_the_host(sandbox: Any, ssh_sandbox: dict[str, Any], tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    worker = ssh_sandbox["containers"]["worker"]
    follow = f"logs -f --tail 5 --timestamps {worker}"
    p = _start(["monitor.watch", "--tail", "5"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    wait_for(lambda: _pgrep(follow), timeout=60, what="the follow running on the host")
    p.send_signal(signal.SIGTERM)
    out, err = _finish(p)
    assert p.returncode == 4, (out[-2000:], err[-2000:])
    wait_for(lambda: not _pgrep(follow), timeout=15, what="the host's docker logs -f to be gone")
    (run,) = run_dirs(tmp_path / "tr")
    interrupted = [e for e in events(run) if e["type"] == "interrupted"]
    assert interrupted and "SIGTERM" in interrupted[0]["message"]


# --- --every and baselines: a host whose docker hangs or fails ----------------------------

def _fake_docker_target(tmp_path: Path, behaviour: str) -> Path:
    """A local target whose `docker` hangs (a stuck daemon) or fails at once."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    body = {"hang": "exec sleep 47.5", "fail": "echo 'Cannot connect to the Docker daemon' >&2; exit 1"}[behaviour]
    docker = bin_dir / "docker"
    docker.write_text(f"#!/bin/sh\n{body}\n")
    docker.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    import os

    return write_config(tmp_path / "runbooks.yaml", {"box": {
        "transport": "local", "project_dir": str(project), "role": "dev",
        "containers": {"backend": "b", "worker": "w"},
        "env": {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}}}, default_target="box")


def _history_rows(path: Path) -> int:
    if not path.exists():
        return 0
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def test_ctrl_c_during_a_run_stops_the_every_loop(tmp_path: Path) -> None:
    cfg = _fake_docker_target(tmp_path, "hang")
    p = _start(["monitor.p0", "--every", "1h", "--for", "24h"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    wait_for(lambda: _pgrep("sleep 47.5"), timeout=30, what="the first run's gather to hang")
    p.send_signal(signal.SIGINT)
    out, err = _finish(p, timeout=30)  # without the fix the loop waits an hour for the next run
    assert p.returncode == 4, (out[-2000:], err[-2000:])
    assert "stopped by the operator after 1 run(s)" in out
    assert "next run at" not in out


def test_aborted_and_degraded_runs_are_not_baselines(tmp_path: Path) -> None:
    hist = tmp_path / "history.sqlite3"
    cfg = _fake_docker_target(tmp_path, "hang")
    env = inv_env(cfg, tmp_path / "tr", RUNBOOKS_HISTORY=str(hist))
    p = _start(["monitor.all"], env, tmp_path)
    wait_for(lambda: _pgrep("sleep 47.5"), timeout=30, what="the gather to hang")
    p.send_signal(signal.SIGINT)
    out, err = _finish(p)
    assert p.returncode == 4, err
    assert _history_rows(hist) == 0  # the aborted run's empty metrics are no baseline

    cfg = _fake_docker_target(tmp_path, "fail")
    r = run_inv(["monitor.all"], env, tmp_path)
    assert r.returncode == 3, r.stderr
    assert _history_rows(hist) == 0  # nor are a degraded run's


def test_a_complete_run_still_becomes_a_baseline(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    hist = tmp_path / "history.sqlite3"
    cfg = write_config(tmp_path / "runbooks.yaml", {"sb": sandbox_target}, default_target="sb")
    r = run_inv(["monitor.all"], inv_env(cfg, tmp_path / "tr", RUNBOOKS_HISTORY=str(hist)), tmp_path)
    assert r.returncode in (0, 1), (r.stdout[-2000:], r.stderr[-2000:])
    assert _history_rows(hist) == 1
