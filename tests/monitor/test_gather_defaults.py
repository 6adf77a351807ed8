"""A playbook of its own may use the monitor's blocks without the tasks' run variables:
`monitor.gather` with no `needs` gathers every fact the checks use, so a stuck photo in
the sandbox's DB is found, not a "no remote facts needed" skip that reads as OK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbooks.sandbox import Sandbox
from tests.blocks.helpers import run_steps


def test_gather_without_needs_reads_every_source_and_the_fault_is_found(sandbox: Sandbox, sandbox_target: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    steps = [{"name": "gather", "kind": "monitor.gather", "params": {"serializer": True, "api": True, "path": "/api/v1/meals/"}},
             {"name": "api", "kind": "monitor.api", "params": {"path": "/api/v1/meals/"}},
             {"name": "evaluate", "kind": "monitor.evaluate"}]
    healthy = run_steps(sandbox_target, steps, tmp_path / "healthy")
    assert [s.status for s in healthy.steps] == ["ok", "ok", "ok"], healthy.message
    assert healthy.exit_code == 0 and healthy.verdict == "ok", healthy.message
    covered = {src for src, c in healthy.coverage.items() if c.get("status") == "complete"}
    assert {"worker_logs", "backend_logs", "db", "api"} <= covered, healthy.coverage

    sandbox.inject("stuck_photo")
    faulty = run_steps(sandbox_target, steps, tmp_path / "faulty")
    assert faulty.exit_code == 2 and "stuck_photos" in {f.id for f in faulty.findings if f.status == "alert"}
