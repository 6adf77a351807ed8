"""The docker shim as the runbooks see it: exec into Django, stop/recreate the worker,
compose in the project dir, docker-like errors, and a record of every call."""

from __future__ import annotations

import json

from runbooks.sandbox import Sandbox
from tests.sandbox.helpers import docker

BACKEND, WORKER = "eatfit24-backend-1", "eatfit24-celery-worker-1"


def test_exec_runs_a_real_orm_query(sandbox_state: Sandbox) -> None:
    sandbox_state.scenario("A")
    r = docker(sandbox_state, "exec", BACKEND, "python", "manage.py", "shell", "-c",
               "from apps.nutrition.models import MealPhoto; print('RESULT', MealPhoto.objects.filter(status='CANCELLED').count())")
    assert r.returncode == 0, r.stderr
    assert "objects imported automatically" in r.stdout  # Django 5.2's banner, on stdout
    assert "RESULT 2" in r.stdout
    script = "from apps.nutrition.models import Meal\nprint('RESULT', Meal.objects.get().status)\n"
    r = docker(sandbox_state, "exec", "-i", BACKEND, "python", "manage.py", "shell", "--no-imports", stdin=script)
    assert r.stdout.strip() == "RESULT COMPLETE", r.stderr
    # without -i docker attaches no stdin: the script never arrives
    r = docker(sandbox_state, "exec", BACKEND, "python", "manage.py", "shell", "--no-imports", stdin=script)
    assert "RESULT" not in r.stdout


def test_pkill_stops_worker_and_compose_rebuild_brings_it_back(sandbox_state: Sandbox) -> None:
    project = str(sandbox_state.paths.project)
    assert docker(sandbox_state, "exec", WORKER, "pkill", "-f", "celery worker").returncode == 0
    assert docker(sandbox_state, "inspect", "--format", "{{.State.Status}}", WORKER).stdout.strip() == "exited"
    assert WORKER not in docker(sandbox_state, "ps", "--format", "{{.Names}}").stdout
    r = docker(sandbox_state, "exec", WORKER, "ls")
    assert r.returncode == 1 and "is not running" in r.stderr
    r = docker(sandbox_state, "compose", "up", "-d", "--build", "--force-recreate", "backend", "celery-worker", cwd=project)
    assert r.returncode == 0, r.stderr
    state = json.loads(docker(sandbox_state, "inspect", "--format", "{{json .State}}", WORKER).stdout)
    assert state["Running"] is True and state["Status"] == "running"
    ps = docker(sandbox_state, "compose", "ps", "--format", "{{.Service}} {{.State}}", cwd=project).stdout
    assert "celery-worker running" in ps and "backend running" in ps


def test_rebuild_fails_fault(sandbox_state: Sandbox) -> None:
    project = str(sandbox_state.paths.project)
    sandbox_state.inject("rebuild_fails")
    docker(sandbox_state, "exec", WORKER, "pkill", "-f", "celery worker")
    r = docker(sandbox_state, "compose", "up", "-d", "--build", "--force-recreate", "backend", "celery-worker", cwd=project)
    assert r.returncode == 1 and "failed to solve" in r.stderr
    assert docker(sandbox_state, "inspect", "-f", "{{.State.Running}}", WORKER).stdout.strip() == "false"
    r = docker(sandbox_state, "compose", "up", "-d", "--build", "celery-worker", cwd=project)  # one shot
    assert r.returncode == 0
    assert docker(sandbox_state, "inspect", "-f", "{{.State.Running}}", WORKER).stdout.strip() == "true"


def test_strict_pkill_reveals_the_checklist_pattern_matches_nothing(tmp_path) -> None:  # noqa: ANN001
    from runbooks.sandbox import SandboxConfig

    sb = Sandbox(tmp_path / "strict", SandboxConfig(strict_pkill=True))
    sb.create()
    assert docker(sb, "exec", WORKER, "pkill", "-f", "celery worker").returncode == 1
    assert docker(sb, "exec", WORKER, "pkill", "-f", "celery.*worker").returncode == 0
    assert docker(sb, "inspect", "-f", "{{.State.Status}}", WORKER).stdout.strip() == "exited"


def test_restart_policy_always_restarts_the_worker(tmp_path) -> None:  # noqa: ANN001
    from runbooks.sandbox import SandboxConfig

    sb = Sandbox(tmp_path / "always", SandboxConfig(worker_restart_policy="always"))
    sb.create()
    docker(sb, "exec", WORKER, "pkill", "-f", "celery worker")
    assert docker(sb, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", WORKER).stdout.split() == ["running", "1"]


def test_docker_like_errors_and_call_record(sandbox_state: Sandbox) -> None:
    r = docker(sandbox_state, "logs", "nope")
    assert (r.returncode, r.stderr.strip()) == (1, "Error response from daemon: No such container: nope")
    r = docker(sandbox_state, "exec", "nope", "true")
    assert r.returncode == 1 and "No such container: nope" in r.stderr
    r = docker(sandbox_state, "inspect", "nope")
    assert r.returncode == 1 and r.stdout.strip() == "[]"
    r = docker(sandbox_state, "frobnicate")
    assert r.returncode == 1 and "is not a docker command" in r.stderr
    r = docker(sandbox_state, "logs", "--frob", BACKEND)
    assert r.returncode == 125 and "unknown flag: --frob" in r.stderr
    r = docker(sandbox_state, "compose", "ps", cwd="/")
    assert r.returncode == 1 and "no configuration file provided: not found" in r.stderr
    assert docker(sandbox_state, "--version").stdout.startswith("Docker version ")
    calls = [json.loads(line) for line in sandbox_state.paths.calls.read_text().splitlines()]
    assert calls[0]["argv"] == ["docker", "logs", "nope"]
    assert calls[-2]["argv"][:3] == ["docker", "compose", "ps"] and calls[-2]["cwd"] == "/"


def test_ps_and_inspect_formats(sandbox_state: Sandbox) -> None:
    names = docker(sandbox_state, "ps", "--format", "{{.Names}}").stdout.split()
    assert BACKEND in names and WORKER in names
    row = json.loads(docker(sandbox_state, "ps", "--filter", f"name={WORKER}", "--format", "{{json .}}").stdout)
    assert row["State"] == "running" and row["Status"].startswith("Up ")
    objs = json.loads(docker(sandbox_state, "inspect", BACKEND, WORKER).stdout)
    assert [o["Name"] for o in objs] == [f"/{BACKEND}", f"/{WORKER}"]
