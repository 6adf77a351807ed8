"""Shared helpers for the hardening tests: a local target, inv as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import inv_env, run_inv, write_config


def local_config(tmp_path: Path, **target_extra: Any) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    target = {"transport": "local", "project_dir": str(project), "role": "dev", "confirm": "yes",
              "containers": {"backend": "b", "worker": "w"}, **target_extra}
    return write_config(tmp_path / "runbooks.yaml", {"loc": target}, default_target="loc")


def inv(tmp_path: Path, args: list[str], config: Path | None, **env: str):  # noqa: ANN201 - CompletedProcess
    return run_inv(args, inv_env(config, tmp_path / "transcripts", **env), tmp_path)


def one_line_error(stderr: str) -> str:
    """The whole of stderr is one line, no traceback; returns it."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def one_json_doc(stdout: str) -> dict[str, Any]:
    """stdout is exactly one JSON document."""
    doc = json.loads(stdout)  # raises on anything but exactly one document
    assert isinstance(doc, dict)
    return doc
