"""Issue 12 item 5: faults end cleanly.

A transcript dir that is full (a real tmpfs), read-only, or a dangling symlink, and a
`--metrics-out` nobody can write, are refused before anything runs (exit 3, one line); a
disk that fills up DURING a run never skips the always-steps and keeps the verdict and
exit code (a P0 is still 2). A connection lost while a command runs is "connection lost"
(exit 3 read-only), never exit code -1; `connect_timeout` fractions bound the handshake.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbooks.sshd import SshServer
from tests.helpers import events, inv_cmd, inv_env, run_dirs, run_inv, wait_for, write_config, write_playbook
from tests.record.helpers import ssh_target


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    """mount(8) a small tmpfs (root only); unmounted after the test."""
    mounted: list[Path] = []

    def mount(name: str, size: str = "64k", ro: bool = False) -> Path:
        d = tmp_path / name
        d.mkdir()
        opts = f"size={size}" + (",ro" if ro else "")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(d)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(d)
        return d

    yield mount
    for d in reversed(mounted):
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def _fill(directory: Path) -> None:
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def _local_cfg(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return write_config(tmp_path / "runbooks.yaml", {"loc": {"transport": "local", "project_dir": str(project), "role": "dev",
                                                            "containers": {"backend": "b", "worker": "w"}}},
                        default_target="loc")


def _one_line_refusal(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 3, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr + r.stdout
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize("fault", ["full", "read-only", "dangling-symlink"])
def test_unwritable_transcript_dir_is_refused_before_anything_runs(tmp_path: Path, tmpfs: Any, fault: str) -> None:
    cfg = _local_cfg(tmp_path)
    marker = tmp_path / "ran"
    pb = write_playbook(tmp_path / "pb.yml", "p", [{"name": "touch", "kind": "shell", "params": {"command": f"touch {marker}"}}])
    if fault == "full":
        tdir = tmpfs("full")
        _fill(tdir)
    elif fault == "read-only":
        tdir = tmpfs("ro", ro=True)
    else:
        tdir = tmp_path / "link"
        tdir.symlink_to(tmp_path / "gone" / "transcripts")
    r = run_inv(["play", "--playbook", str(pb), "--transcript-dir", str(tdir)], inv_env(cfg, tmp_path / "unused"), tmp_path)
    why = {"full": "No space left", "read-only": "Read-only file system", "dangling-symlink": "does not exist"}[fault]
    _one_line_refusal(r, "transcript dir", str(tdir), why, "nothing was run")
    assert not marker.exists()


def test_disk_filling_up_mid_run_keeps_always_steps_verdict_and_exit_code(tmp_path: Path, tmpfs: Any) -> None:
    cfg = _local_cfg(tmp_path)
    tdir = tmpfs("small", size="256k")
    released = tmp_path / "released"
    pb = write_playbook(tmp_path / "pb.yml", "p", [
        {"name": "fill", "kind": "shell", "description": "something fills the disk the records are on",
         "params": {"command": f"head -c 2M /dev/zero > {tdir}/hog 2>/dev/null; seq 1 2000"}},
        {"name": "work", "kind": "shell", "params": {"command": "echo doing work; exit 1"}},
        {"name": "release", "kind": "shell", "always": True, "params": {"command": f"touch {released}"}},
    ])
    r = run_inv(["play", "--playbook", str(pb), "--transcript-dir", str(tdir)], inv_env(cfg, tmp_path / "unused"), tmp_path)
    assert r.returncode == 2, (r.stdout[-2000:], r.stderr[-2000:])  # the failed step decides, not the disk
    assert "Traceback" not in r.stderr + r.stdout
    assert released.exists()  # the always-step ran
    assert "is incomplete" in r.stderr and "No space left" in r.stderr
    assert "VERDICT FAILED (exit 2)" in r.stdout


def test_disk_full_mid_run_a_p0_is_still_2(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path,
                                           tmpfs: Any) -> None:
    """A real monitor run with a P0 (stuck photo): the records' disk fills up during the
    gather; the verdict is still P0, exit 2, and the console says the record is incomplete."""
    import yaml

    sandbox.inject("stuck_photo")
    cfg = write_config(tmp_path / "runbooks.yaml", {"sb": sandbox_target}, default_target="sb")
    tdir = tmpfs("small", size="256k")
    monitor = yaml.safe_load((Path(__file__).resolve().parents[2] / "playbooks" / "monitor.yml").read_text())
    monitor["steps"].insert(0, {"name": "fill", "kind": "shell",
                                "params": {"command": f"head -c 2M /dev/zero > {tdir}/hog 2>/dev/null; true"}})
    monitor["vars"].update({"checks": ["stuck_photos", "stuck_meals"], "needs": ["db"], "since": "24h"})
    pb = tmp_path / "monitor-fill.yml"
    pb.write_text(yaml.safe_dump(monitor, sort_keys=False))
    r = run_inv(["play", "--playbook", str(pb), "--transcript-dir", str(tdir)],
                inv_env(cfg, tmp_path / "unused", RUNBOOKS_HISTORY=str(tmp_path / "h.sqlite3")), tmp_path)
    assert r.returncode == 2, (r.stdout[-3000:], r.stderr[-3000:])
    assert "Traceback" not in r.stderr + r.stdout
    assert "VERDICT P0 (exit 2)" in r.stdout and "stuck_photos" in r.stdout
    assert "is incomplete" in r.stderr


def test_unwritable_metrics_out_is_refused_before_anything_runs(sandbox: Any, sandbox_target: dict[str, Any],
                                                                tmp_path: Path, tmpfs: Any) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"sb": sandbox_target}, default_target="sb")
    ro = tmpfs("ro", ro=True)
    calls = sandbox.paths.calls
    before = calls.read_text() if calls.exists() else ""
    r = run_inv(["monitor.p0", "--metrics-out", str(ro / "runbooks.prom")], inv_env(cfg, tmp_path / "tr"), tmp_path)
    _one_line_refusal(r, "--metrics-out", "Read-only file system", "nothing was run")
    assert run_dirs(tmp_path / "tr") == []
    assert (calls.read_text() if calls.exists() else "") == before  # no docker call reached the host


# --- the connection --------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def _kill_sessions(srv: SshServer) -> None:
    """Kill the sshd processes serving connections (the listener stays up)."""
    for pid in _children(srv.pid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(inv_cmd(*args), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _running_on_host(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def test_lost_ssh_session_is_connection_lost_not_exit_minus_one(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_target(sshd, tmp_path / "project")}, default_target="box")
    pb = write_playbook(tmp_path / "pb.yml", "p", [
        {"name": "scan", "kind": "shell", "params": {"command": "sleep 31.5; echo done"}}])
    p = _start(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr"), tmp_path)
    try:
        wait_for(lambda: _running_on_host("sleep 31.5"), timeout=30, what="the command on the host")
        _kill_sessions(sshd)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 3, (out[-2000:], err[-2000:])
    assert "connection lost during step scan" in err and "Traceback" not in err
    assert "exit -1" not in out + err
    (run,) = run_dirs(tmp_path / "tr")
    evs = events(run)
    assert not [e for e in evs if e.get("exit_code") == -1]
    fin = [e for e in evs if e["type"] == "run_finished"][0]
    assert fin["verdict"] == "error" and fin["exit_code"] == 3 and "connection lost" in fin["message"]


def test_connect_timeout_fraction_bounds_the_whole_handshake(tmp_path: Path) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts, never says a word
    port = silent.getsockname()[1]
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": {
        "transport": "ssh", "host": "127.0.0.1", "port": port, "user": "nobody", "known_hosts": str(kh),
        "project_dir": "/tmp", "containers": {"backend": "b", "worker": "w"}, "connect_timeout": 0.5}})
    t0 = time.monotonic()
    try:
        r = run_inv(["doctor", "--target", "box"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    finally:
        silent.close()
    elapsed = time.monotonic() - t0
    assert r.returncode == 3, r.stderr
    assert "0.5s" in r.stderr and "Traceback" not in r.stderr
    assert elapsed < 8, elapsed  # interpreter start-up + 0.5 s, not paramiko's 15 s banner wait


def test_an_output_that_fails_after_the_run_is_one_line_and_keeps_a_failure_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """--metrics-out becoming unwritable between the probe and the write (disk filled by
    then): one line, no traceback; a clean run exits 3, a failed one keeps its 2."""
    from runbooks.app import TaskSpec, run_task

    cfg = _local_cfg(tmp_path)
    monkeypatch.setenv("RUNBOOKS_CONFIG", str(cfg))

    def after(result: Any, target: Any, out: Any) -> None:
        raise OSError(28, "No space left on device", str(tmp_path / "m.prom"))

    for command, expected in (("true", 3), ("exit 1", 2)):
        pb = write_playbook(tmp_path / "pb.yml", "p", [{"name": "x", "kind": "shell", "params": {"command": command}}])
        code = run_task(TaskSpec(task="p", playbook=pb, transcript_dir=str(tmp_path / "tr"), after=after), argv=["inv"])
        err = capsys.readouterr().err
        assert code == expected
        assert "could not write the run's outputs: No space left on device" in err and "Traceback" not in err
