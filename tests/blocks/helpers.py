"""Run a playbook of blocks in-process against a real target; read what the host holds."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runbooks.config import parse_target
from runbooks.engine.options import RunOptions
from runbooks.engine.run import run_playbook
from runbooks.lang.parse import parse_playbook
from runbooks.model import RunResult
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.sandbox import Sandbox
from tests.fixtures.sshd import start_sshd


def run_steps(target: dict[str, Any], steps: list[dict[str, Any]], tmp_path: Path, **options: Any) -> RunResult:
    """One playbook of `steps` on `target` (a config mapping), --yes, no terminal."""
    pb = parse_playbook({"name": "blocks", "steps": steps}, "test.yml")
    opts = RunOptions(task="blocks", transcript_dir=tmp_path / "tr", interactive=False, yes=True, **options)
    return run_playbook(pb, parse_target("box", target, "test"), opts, Out(json_mode=True, stream=io.StringIO()),
                        Redactor())


@contextmanager
def sandbox_over_ssh(sb: Sandbox, tmp_path: Path, first_on_path: Path | None = None) -> Iterator[dict[str, Any]]:
    """The sandbox (state only: its docker shim, DB, logs and repo) behind a real sshd; an
    optional directory (an awk) first on the SSH session's PATH."""
    prepend = f"{first_on_path}:{sb.paths.bin_dir}" if first_on_path else str(sb.paths.bin_dir)
    srv = start_sshd(tmp_path / "sshd", path_prepend=prepend)
    try:
        c = sb.config
        yield srv.target(project_dir=str(sb.paths.project), role="sandbox", confirm="yes",
                         containers={"backend": c.backend_container, "worker": c.worker_container},
                         compose_services={"backend": c.backend_service, "worker": c.worker_service})
    finally:
        srv.stop()


def append_log(sb: Sandbox, container: str, lines: list[str]) -> None:
    """Lines in a sandbox container's docker log, stamped now (as its process would write them)."""
    for line in lines:
        sb.log_line(container, line, "stdout")
