"""`inv doctor` on generic targets over a real sshd: a host with only how to reach it is
checked for what it can be (tools, the log filter on the host's awk, the clock) and told
what it does not configure; a configured container is checked whatever its role; the
eatfit24 part (Django probe, backend/worker hints) joins only on a target with its keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.awks import awk_dir
from tests.fixtures.sshd import start_sshd
from tests.helpers import events, inv_env, run_dirs, run_inv, write_config


def _doctor(tmp_path: Path, path_prepend: str | None, **fields: Any) -> tuple[int, dict[str, Any], str, list[dict]]:
    srv = start_sshd(tmp_path / "sshd", path_prepend=path_prepend)
    try:
        cfg = write_config(tmp_path / "runbooks.yaml", {"web": srv.target(**fields)})
        r = run_inv(["doctor", "--target", "web", "--json"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    finally:
        srv.stop()
    doc = json.loads(r.stdout)
    cmds = [e for e in events(run_dirs(tmp_path / "tr")[0]) if e["type"] == "command"]
    return r.returncode, {f["id"]: f for f in doc["checks"]}, r.stderr, cmds


@pytest.mark.parametrize("awk", ["mawk", "busybox"])
def test_a_host_only_target_is_ready_and_told_what_it_does_not_configure(tmp_path: Path, awk: str) -> None:
    code, checks, err, cmds = _doctor(tmp_path, str(awk_dir(awk, tmp_path)))
    assert code == 0, (checks, err)
    for tool in ("setsid", "grep", "date", "awk_filter"):
        assert checks[f"doctor_{tool}"]["status"] == "ok", checks
    assert "runs the log filter" in checks["doctor_awk_filter"]["title"]
    assert checks["doctor_containers"]["status"] == "not_configured"
    assert checks["doctor_project_dir"]["status"] == "not_configured"
    assert "targets.web.containers is not configured" in checks["doctor_containers"]["title"]
    # nothing needs docker, no eatfit24 probe: one command, the host probe
    assert "doctor_docker" not in checks and "doctor_django_shell" not in checks
    assert len(cmds) == 1 and "docker" not in cmds[0]["command"]
    assert "apps.nutrition" not in json.dumps(cmds)


def test_a_host_only_target_on_a_host_whose_awk_is_broken_cannot_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad-awk"
    bad.mkdir()
    (bad / "awk").write_text("#!/bin/sh\necho 'awk: syntax error at source line 1' >&2\nexit 2\n")
    (bad / "awk").chmod(0o755)
    code, checks, _, _ = _doctor(tmp_path, str(bad))
    assert code == 3
    assert checks["doctor_awk_filter"]["status"] == "alert" and "syntax error" in checks["doctor_awk_filter"]["title"]
    assert checks["doctor_containers"]["status"] == "not_configured"  # still listed, not an error


def test_a_configured_container_that_does_not_exist_is_named_by_its_key(sandbox: Any, tmp_path: Path) -> None:
    code, checks, err, cmds = _doctor(tmp_path, str(sandbox.paths.bin_dir), containers={"web": "no-such-web-1"})
    assert code == 3, checks
    web = checks["doctor_web"]
    assert web["status"] == "alert" and "targets.web.containers.web" in web["action"]
    assert "'no-such-web-1'" in web["action"] and "compose names it" not in web["action"]
    assert checks["doctor_docker"]["status"] == "ok"  # a container is configured: docker is checked
    assert "doctor_django_shell" not in checks and len(cmds) == 1  # not an eatfit24 target
    assert checks["doctor_project_dir"]["status"] == "not_configured"
    assert "missing: web" in err


def test_a_configured_running_container_of_any_role_is_ok(sandbox: Any, tmp_path: Path) -> None:
    running = sandbox.target_fields()["containers"]["backend"]
    code, checks, err, cmds = _doctor(tmp_path, str(sandbox.paths.bin_dir), containers={"app": running})
    assert code == 0, (checks, err)
    assert checks["doctor_app"]["status"] == "ok" and checks["doctor_app"]["title"] == "running"
    assert "doctor_django_shell" not in checks and len(cmds) == 1


def test_the_eatfit24_target_keeps_its_probe_and_two_commands(sandbox: Any, tmp_path: Path) -> None:
    code, checks, err, cmds = _doctor(tmp_path, str(sandbox.paths.bin_dir), **sandbox.target_fields())
    assert code == 0, (checks, err)
    for name in ("docker", "backend", "worker", "project_dir", "git_head", "compose_file", "django_shell"):
        assert checks[f"doctor_{name}"]["status"] == "ok", (name, checks)
    assert "Meal, MealPhoto, FoodItem, CancelEvent" in checks["doctor_django_shell"]["title"]
    assert "doctor_containers" not in checks and "doctor_project_dir" in checks
    assert len(cmds) == 2  # one shell probe, one Django query


def test_a_docker_whose_daemon_is_down_is_told_apart_from_no_docker(tmp_path: Path) -> None:
    down = tmp_path / "down"
    down.mkdir()
    (down / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.'"
                                 " >&2\nexit 1\n")
    (down / "docker").chmod(0o755)
    code, checks, _, _ = _doctor(tmp_path, str(down), containers={"db": "pg-1"})
    assert code == 3
    assert "start the docker daemon" in checks["doctor_docker"]["action"]
    assert "targets.web.containers.db" in checks["doctor_db"]["action"]


def test_clock_skew_is_measured_against_this_machine() -> None:
    from datetime import datetime, timezone

    from runbooks.steps.doctor import clock_skew

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert clock_skew("2026-01-01T12:02:00Z", now) == 120
    assert clock_skew("2026-01-01T11:59:59Z\n", now) == -1
    assert clock_skew("date: invalid option", now) is None and clock_skew("", now) is None
