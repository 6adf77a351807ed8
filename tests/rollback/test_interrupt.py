"""Ctrl-C DURING the rollback's long mutating `rebuild` step, over a real sshd: the
remote `docker compose up --build` is killed on the host, the `always` steps still record
the host's state and release the lock, the run exits 4 with a resume hint, and the resume
from `rebuild` completes. The build is made to hang by the sandbox's one-shot
`rebuild_hangs` fault, so the interrupt lands while the command is really running."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runbooks.sandbox.paths import INIT_DATA_ENV
from tests.helpers import ROOT, inv_cmd, inv_env, wait_for, write_config
from tests.rollback.conftest import FEATURE, Host, statuses


@pytest.fixture
def box(sandbox: Any, ssh_sandbox: dict[str, Any], tmp_path: Path) -> Host:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    return Host(sandbox=sandbox, target=ssh_sandbox, config=cfg, transcripts=tmp_path / "transcripts")


def _hanging_compose(host: Host) -> list[str]:
    """Pids of the sandbox's compose build on the host (the shim's own argv, not the sh -c wrapper)."""
    r = subprocess.run(["pgrep", "-f", f"{host.sandbox.paths.docker} compose up -d --build"],
                       capture_output=True, text=True)
    return r.stdout.split()


def _events(host: Host) -> list[dict[str, Any]]:
    runs = sorted(host.transcripts.glob("*-rollback-*/events.jsonl"))
    if not runs:
        return []
    return [json.loads(x) for x in runs[-1].read_text().splitlines() if x.strip()]


@pytest.fixture
def rollback(box: Host, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        out = (tmp_path / f"out{len(procs)}.txt").open("w")
        err = (tmp_path / f"err{len(procs)}.txt").open("w")
        p = subprocess.Popen(inv_cmd("rollback", *args), cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=out,
                             stderr=err, text=True,
                             env=inv_env(box.config, box.transcripts, **{INIT_DATA_ENV: box.sandbox.init_data}))
        out.close()
        err.close()
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_ctrl_c_during_rebuild_kills_it_on_the_host_releases_the_lock_and_resumes(
        box: Host, rollback: Callable[..., subprocess.Popen[str]], tmp_path: Path) -> None:
    sha = box.sha_of(FEATURE)
    box.sandbox.inject("rebuild_hangs")
    proc = rollback("--commit", sha, "--yes")

    def rebuild_running() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"rollback ended early (exit {proc.returncode}): "
                                 f"{(tmp_path / 'err0.txt').read_text()[-3000:]}")
        started = any(e["type"] == "command" and e.get("step") == "rebuild" for e in _events(box))
        return started and bool(_hanging_compose(box))

    wait_for(rebuild_running, timeout=90, what="the rebuild command to be running on the host")
    assert box.lock_dir.exists()  # the run holds the lock while it rebuilds
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 4
    stderr = (tmp_path / "err0.txt").read_text() + (tmp_path / "out0.txt").read_text()

    # the host: the build is gone (killed by process group, not left to the 1800 s timeout), lock released
    wait_for(lambda: not _hanging_compose(box), timeout=10, what="the hanging compose build to be killed")
    assert not box.lock_dir.exists()

    # the record: interrupted, then the always-steps, then the aborted verdict
    ev = _events(box)
    types = [e["type"] for e in ev]
    i_int = types.index("interrupted")
    assert "Ctrl-C" in ev[i_int]["message"]
    rebuild_done = [e for e in ev if e["type"] == "step_finished" and e["step"] == "rebuild"]
    assert [e["status"] for e in rebuild_done] == ["aborted"]
    assert not [e for e in ev if e["type"] == "command_finished" and e["step"] == "rebuild"]
    always = {e["step"]: (i, e["status"]) for i, e in enumerate(ev)
              if e["type"] == "step_finished" and e["step"] in ("host-state", "release-lock")}
    assert always["host-state"][1] == always["release-lock"][1] == "ok"
    assert i_int < always["host-state"][0] < always["release-lock"][0]
    assert types[-1] == "run_finished" and always["release-lock"][0] < len(ev) - 1
    fin = ev[-1]
    assert fin["verdict"] == "aborted" and fin["exit_code"] == 4
    # the operator's own command (program, -r, every flag) with --start-at the interrupted step
    assert fin["resume"] == f"inv -r {ROOT} rollback --commit {sha} --yes --start-at rebuild"
    st = statuses(fin)
    assert st["rebuild"] == "aborted" and "verify" not in st
    assert f"--commit {sha} --yes --start-at rebuild" in stderr
    md = sorted(box.transcripts.glob("*-rollback-*/transcript.md"))[-1].read_text()
    assert "ABORTED" in md

    # resume from the interrupted step: the fault was one-shot, the rebuild completes
    reverted = box.head()
    assert f"This reverts commit {sha}." in box.git("log", "-1", "--format=%B")
    p = box.run("--commit", sha, "--yes", "--start-at", "rebuild", "--json", timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    st = statuses(json.loads(p.stdout.strip().splitlines()[-1]))
    assert list(st)[:2] == ["preflight", "rebuild"] and st["rebuild"] == st["verify"] == "ok"
    assert box.head() == reverted and not box.lock_dir.exists()
    assert box.container(box.target["containers"]["worker"])["status"] == "running"
