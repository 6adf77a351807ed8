"""A tiny playbook on local targets: real runs (real shell commands, real transcript) in ~0.1 s."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TINY = """\
name: tiny
description: a few local commands
steps:
  - name: hello
    kind: shell
    description: say hello in colour
    params: {command: "printf '\\\\033[31mhello\\\\033[0m from %s\\\\n' {{ target }}; seq 1 60", stream: true}
  - name: listing
    kind: shell
    params: {command: "echo listing {{ target }}; echo warn >&2", stream: true}
  - name: last
    kind: shell
    params: {command: "echo done", stream: true}
"""


def local_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...] = ("loc",)) -> Path:
    """runbooks.yaml with local targets; returns the tiny playbook's path."""
    cfg = {"targets": {n: {"transport": "local", "project_dir": str(tmp_path), "role": "dev",
                           "containers": {"backend": "b", "worker": "w"}} for n in names}}
    (tmp_path / "runbooks.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("RUNBOOKS_CONFIG", str(tmp_path / "runbooks.yaml"))
    pb = tmp_path / "tiny.yml"
    pb.write_text(TINY)
    return pb


def run_tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str = "loc",
             names: tuple[str, ...] = ("loc",)) -> list[Path]:
    """Run the tiny playbook in-process; returns the run folders (one per target)."""
    from runbooks.app import TaskSpec, run_task

    pb = local_targets(tmp_path, monkeypatch, names)
    tdir = tmp_path / "transcripts"
    code = run_task(TaskSpec(task="tiny", playbook=pb, target=target, transcript_dir=str(tdir)), argv=["inv", "tiny"])
    assert code == 0
    return sorted(d for d in tdir.iterdir() if (d / "events.jsonl").is_file())
