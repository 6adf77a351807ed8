"""Container lifecycle like the real host: Celery's own answer to `inspect ping`, a recreated
container's fresh start time and empty log, a worker at log level WARNING, a stopped worker
stranding the photo it was processing, a revoke lost while the worker is down; and the real
awks a host may have."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from runbooks.sandbox import Sandbox
from tests.fixtures.awks import path_with
from tests.sandbox.helpers import api, docker, wait_for

WORKER, BACKEND = "eatfit24-celery-worker-1", "eatfit24-backend-1"
PING = ("celery", "-A", "config", "inspect", "ping")


def inspect(sb: Sandbox, fmt: str, name: str = WORKER) -> str:
    r = docker(sb, "inspect", "--format", fmt, name)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def compose(sb: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    r = docker(sb, "compose", *args, cwd=str(sb.paths.project))
    assert r.returncode == 0, r.stderr
    return r


# ---------------------------------------------------------------- celery inspect ping

def test_inspect_ping_answers_like_celery(sandbox_state: Sandbox) -> None:
    host = inspect(sandbox_state, "{{.Config.Hostname}}")
    pong = f"->  celery@{host}: OK\n        pong\n\n1 node online.\n"
    for container, extra in [(WORKER, ()), (WORKER, ("-d", f"celery@{host}")), (WORKER, ("--timeout", "5")),
                             (BACKEND, ("--timeout", "3", "-d", f"celery@{host}"))]:
        r = docker(sandbox_state, "exec", container, *PING, *extra)
        assert (r.returncode, r.stdout, r.stderr) == (0, pong, ""), (container, extra)
    r = docker(sandbox_state, "exec", WORKER, *PING, "-d", "celery@somewhere-else")
    assert (r.returncode, r.stdout, r.stderr) == (69, "", "Error: No nodes replied within time constraint.\n")


def test_inspect_ping_without_a_running_worker(sandbox_state: Sandbox) -> None:
    assert docker(sandbox_state, "stop", WORKER).stdout == f"{WORKER}\n"
    r = docker(sandbox_state, "exec", BACKEND, *PING, "--timeout", "2")
    assert (r.returncode, r.stdout, r.stderr) == (69, "", "Error: No nodes replied within time constraint.\n")
    r = docker(sandbox_state, "exec", WORKER, *PING)
    assert r.returncode == 1 and re.fullmatch(r"Error response from daemon: container [0-9a-f]{64} is not running\n",
                                              r.stderr)
    assert docker(sandbox_state, "start", WORKER).returncode == 0
    assert docker(sandbox_state, "exec", WORKER, *PING).returncode == 0


# ---------------------------------------------------------------- recreate: fresh start, empty log

def test_force_recreate_gives_a_fresh_start_time_and_an_empty_log(sandbox_state: Sandbox) -> None:
    sandbox_state.traffic(seed=2, meals=20, hours=2)
    old_id, old_start = inspect(sandbox_state, "{{.Id}}"), inspect(sandbox_state, "{{.State.StartedAt}}")
    assert any("Finalized meal_id=" in ln for ln in docker(sandbox_state, "logs", WORKER, merge=True).stdout.splitlines())
    compose(sandbox_state, "up", "-d", "--force-recreate", "celery-worker")
    new_id, started = inspect(sandbox_state, "{{.Id}}"), inspect(sandbox_state, "{{.State.StartedAt}}")
    assert new_id != old_id and started > old_start
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", started)
    lines = docker(sandbox_state, "logs", "-t", WORKER, merge=True).stdout.splitlines()
    # only what the new process printed since it started: no line of the old container
    assert lines and all(ln[:30] >= started for ln in lines)
    assert not [ln for ln in lines if "recognize_food_async" in ln or "Finalized" in ln]
    host = inspect(sandbox_state, "{{.Config.Hostname}}")
    ready = [ln for ln in lines if ln.endswith(" ready.")]
    assert len(ready) == 1 and re.fullmatch(
        r"\S+ \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO/MainProcess\] " + re.escape(f"celery@{host} ready."), ready[0])
    # docker logs --since 24h now covers minutes: the history went with the old container
    assert docker(sandbox_state, "logs", "--since", "24h", WORKER, merge=True).stdout.count("\n") == len(lines)


def test_worker_at_warning_prints_no_ready_line_after_restart_or_recreate(sandbox_state: Sandbox) -> None:
    ev = sandbox_state.inject("worker_log_warning")
    assert ev == {"flag": "worker_log_warning", "log_level": "WARNING", "ready_line": False}
    compose(sandbox_state, "up", "-d", "--force-recreate", "celery-worker")
    assert "-l WARNING" in inspect(sandbox_state, "{{.Config.Cmd}}")
    started = inspect(sandbox_state, "{{.State.StartedAt}}")
    lines = docker(sandbox_state, "logs", "-t", WORKER, merge=True).stdout.splitlines()
    host = inspect(sandbox_state, "{{.Config.Hostname}}")
    assert any(f"-------------- celery@{host} v5.4.0" in ln for ln in lines)  # the banner: stdout, any level
    assert not [ln for ln in lines if "ready." in ln or "INFO/" in ln] and all(ln[:30] >= started for ln in lines)
    compose(sandbox_state, "restart", "celery-worker")
    assert not [ln for ln in docker(sandbox_state, "logs", WORKER, merge=True).stdout.splitlines() if "ready." in ln]
    # the worker itself still answers
    assert docker(sandbox_state, "exec", WORKER, *PING).stdout.startswith(f"->  celery@{host}: OK\n")


def test_restart_at_info_prints_the_ready_line_of_this_host(sandbox_state: Sandbox) -> None:
    compose(sandbox_state, "restart", "celery-worker")
    host = inspect(sandbox_state, "{{.Config.Hostname}}")
    lines = docker(sandbox_state, "logs", WORKER, merge=True).stdout.splitlines()
    assert sum(ln.endswith(f"INFO/MainProcess] celery@{host} ready.") for ln in lines) == 2  # created + restarted
    assert lines.count("worker: Warm shutdown (MainProcess)") == 1


# ---------------------------------------------------------------- a stopped worker strands its photo

def _task(sb: Sandbox, task_id: str) -> dict:
    return api(sb, "GET", f"/api/v1/ai/task/{task_id}/")[1]


@pytest.mark.parametrize("stop", [("compose", "stop", "celery-worker"), ("stop", WORKER)])
def test_stopping_the_worker_leaves_its_processing_photo_processing_for_good(sandbox: Sandbox, stop: tuple) -> None:
    status, slow = api(sandbox, "POST", "/api/v1/ai/recognize/", {"meal_type": "LUNCH", "sandbox_delay": 6.0})
    assert status == 202
    wait_for(lambda: _task(sandbox, slow["task_id"])["status"] == "PROCESSING", what="PROCESSING")
    r = docker(sandbox, *stop, cwd=str(sandbox.paths.project))
    assert r.returncode == 0, r.stderr
    assert inspect(sandbox, "{{.State.Status}}") == "exited"
    assert "worker: Warm shutdown (MainProcess)" in docker(sandbox, "logs", WORKER).stdout
    assert docker(sandbox, "start", WORKER).returncode == 0
    # the worker works again (a new, longer upload is processed) and the old task is not re-run:
    # had it been requeued it would have been claimed first and finished first (6 s < 7 s)
    status, quick = api(sandbox, "POST", "/api/v1/ai/recognize/", {"meal_type": "LUNCH", "sandbox_delay": 7.0})
    wait_for(lambda: _task(sandbox, quick["task_id"])["status"] == "SUCCESS", what="new upload processed",
             timeout=20)
    assert _task(sandbox, slow["task_id"])["status"] == "PROCESSING"
    assert sandbox.ground_truth()["db"]["photos"]["PROCESSING"] == 1
    assert f"MealPhoto {slow['meal_photo_id']} updated" not in docker(sandbox, "logs", WORKER, merge=True).stdout
    assert _task(sandbox, slow["task_id"])["meal_status"] == "PROCESSING"


def test_a_revoke_sent_while_the_worker_is_down_is_lost(sandbox: Sandbox) -> None:
    """Celery broadcasts a revoke to the workers up at that moment: the cancelled photo's task
    runs when the worker is back and resurrects it (the cancelled_photo_resurrected state)."""
    docker(sandbox, "stop", WORKER)
    status, up = api(sandbox, "POST", "/api/v1/ai/recognize/", {"meal_type": "LUNCH", "sandbox_delay": 0.1})
    status, resp = api(sandbox, "POST", "/api/v1/ai/cancel/", {
        "client_cancel_id": str(uuid.uuid4()), "meal_id": up["meal_id"], "meal_photo_ids": [up["meal_photo_id"]],
        "task_ids": [up["task_id"]], "reason": "user_cancel"})
    assert resp["updated_photos"] == 1 and _task(sandbox, up["task_id"])["status"] == "CANCELLED"
    docker(sandbox, "start", WORKER)
    wait_for(lambda: _task(sandbox, up["task_id"])["status"] == "SUCCESS", what="task ran after all")
    assert _task(sandbox, up["task_id"])["meal_status"] == "COMPLETE"


# ---------------------------------------------------------------- hosts' awks

@pytest.mark.parametrize("fixture, identity", [("busybox_awk_dir", "BusyBox v"), ("mawk_dir", "mawk 1.3.4")])
def test_awk_dirs_put_the_real_host_awks_first_on_path(request: pytest.FixtureRequest, fixture: str,
                                                       identity: str) -> None:
    d: Path = request.getfixturevalue(fixture)
    env = {**os.environ, "PATH": path_with(d)}
    probe = ["awk", "-W", "version"] if fixture == "mawk_dir" else ["awk"]
    r = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=10)
    assert identity in r.stdout + r.stderr
    r = subprocess.run(["sh", "-c", "printf 'a b\\n' | awk '{print $2}'"], env=env, capture_output=True, text=True,
                       timeout=10)
    assert r.stdout == "b\n" and os.path.realpath(d / "awk") in ("/usr/bin/busybox", "/usr/bin/mawk", "/bin/busybox")


def test_log_line_appends_a_marker_now_that_a_follower_sees(sandbox_state: Sandbox) -> None:
    env = {**os.environ, "PATH": f"{sandbox_state.paths.bin_dir}{os.pathsep}{os.environ['PATH']}"}
    follower = subprocess.Popen(["docker", "logs", "-f", "-t", WORKER], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: any(c["argv"][1:3] == ["logs", "-f"] for c in _calls(sandbox_state)), what="follower up")
        stamp = sandbox_state.log_line(WORKER, "RUNBOOKS-MARKER 42")
        assert follower.stdout is not None
        line = follower.stdout.readline()
        while line and "RUNBOOKS-MARKER" not in line:  # the log so far, then what follows
            line = follower.stdout.readline()
        assert line == f"{stamp} RUNBOOKS-MARKER 42\n"
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    assert docker(sandbox_state, "logs", WORKER).stderr.splitlines()[-1] == "RUNBOOKS-MARKER 42"


def _calls(sb: Sandbox) -> list[dict]:
    import json

    return [json.loads(x) for x in sb.paths.calls.read_text().splitlines()] if sb.paths.calls.exists() else []
