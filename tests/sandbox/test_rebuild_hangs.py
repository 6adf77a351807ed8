"""The one-shot ``rebuild_hangs`` fault: `docker compose up --build` prints its first build
lines, then blocks in pip until killed, like a real stalled build. Killing it (SIGTERM from
`kill -- -PGID`, or SIGINT) ends it at once and leaves the containers as they were."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from runbooks.sandbox import Sandbox, containers
from tests.sandbox.helpers import docker, wait_for

WORKER = "eatfit24-celery-worker-1"
UP = ["compose", "up", "-d", "--build", "--force-recreate", "backend", "celery-worker"]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)])
def test_rebuild_hangs_until_killed_then_is_gone(sandbox_state: Sandbox, tmp_path: Path,
                                                 sig: signal.Signals, code: int) -> None:
    sb = sandbox_state
    worker_id = containers.load(sb.paths)[WORKER]["id"]
    sb.inject("rebuild_hangs")
    log = tmp_path / "up.log"
    env = {**os.environ, "PATH": f"{sb.paths.bin_dir}{os.pathsep}{os.environ['PATH']}"}
    with log.open("wb") as fh:
        proc = subprocess.Popen(["docker", *UP], cwd=str(sb.paths.project), env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "RUN pip install" in log.read_text(), timeout=20, what="the build to reach pip install")
        # rebuild_fails would have exited by now; this one is still building
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1.5)
        os.killpg(proc.pid, sig)  # what the ssh connector does to the command's process group
        assert proc.wait(timeout=10) == code
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text()
    assert "load build definition from Dockerfile" in text and "Traceback" not in text
    assert "exporting to image" not in text and "Started" not in text
    # nothing changed: the containers were not recreated, no flag or lock is left behind
    assert containers.load(sb.paths)[WORKER]["id"] == worker_id
    r = docker(sb, *UP, cwd=str(sb.paths.project))  # one shot: the next build completes
    assert r.returncode == 0, r.stderr
    assert containers.load(sb.paths)[WORKER]["id"] != worker_id
