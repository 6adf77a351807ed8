"""`docker compose up -d --no-recreate` keeps existing containers but still creates missing
ones (compose semantics); the shim used to crash with a TypeError on a missing container."""

from __future__ import annotations

from runbooks.sandbox import Sandbox, containers
from tests.sandbox.helpers import docker

BACKEND = "eatfit24-backend-1"


def test_no_recreate_creates_a_missing_container_and_keeps_existing(sandbox_state: Sandbox) -> None:
    project = str(sandbox_state.paths.project)
    data = containers.load(sandbox_state.paths)
    worker_id = data["eatfit24-celery-worker-1"]["id"]
    del data[BACKEND]  # as if `docker rm` had removed it
    containers.save(sandbox_state.paths, data)

    r = docker(sandbox_state, "compose", "up", "-d", "--no-recreate", "backend", "celery-worker", cwd=project)

    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    after = containers.load(sandbox_state.paths)
    assert after[BACKEND]["status"] == "running"
    assert after["eatfit24-celery-worker-1"]["id"] == worker_id  # existing one not recreated
