"""Resume hints that work: the program the operator ran (`runbooks` or `inv`), every flag
and --var of the original command, --start-at the failed step. Tested by running them as
printed, through a shell."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from runbooks.invocation import program_name, resume_command
from tests.helpers import ROOT, inv_env, write_config, write_playbook
from tests.operator.helpers import BIN, program
from tests.rollback.conftest import FEATURE, Host


def _shell(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a hint exactly as an operator pastes it (the programs on PATH)."""
    env = {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}
    return subprocess.run(["sh", "-c", line], env=env, cwd=str(cwd), capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("prog", ["runbooks", "inv"])
def test_a_failed_rollbacks_resume_hint_runs_as_printed(host: Host, prog: str) -> None:
    sha = host.sha_of(FEATURE)
    host.sandbox.inject("rebuild_fails")
    env = inv_env(host.config, host.transcripts)
    args = ["rollback", "--commit", sha[:10], "--target", "box", "--yes", "--json"]
    p = subprocess.run([*program(prog), *args], env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=180)
    assert p.returncode == 2, p.stderr[-3000:]
    hint = json.loads(p.stdout)["resume"]
    words = shlex.split(hint)
    assert words[0] == prog
    assert words[words.index("rollback"):] == [*args, "--start-at", "rebuild"]
    assert f"To resume: {hint}" in p.stderr
    r = _shell(hint, env, ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    d = json.loads(r.stdout)
    assert d["verdict"] == "ok" and [s["name"] for s in d["steps"]][:2] == ["preflight", "rebuild"]


def test_a_failed_plays_resume_hint_keeps_every_var(ssh_sandbox, tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    pb = write_playbook(tmp_path / "two.yml", "two", [
        {"name": "first", "kind": "shell", "params": {"command": "echo {{ greeting }}"}},
        {"name": "second", "kind": "shell", "params": {"command": "test -e {{ marker }} && echo {{ greeting }}"}},
    ])
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    env = inv_env(cfg, tmp_path / "tr")
    argv = ["play", "--playbook", str(pb), "--var", "greeting=hello world", "--var", f"marker={marker}", "--json"]
    p = subprocess.run([*program("runbooks"), *argv], env=env, cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2, p.stderr[-2000:]
    hint = json.loads(p.stdout)["resume"]
    assert shlex.split(hint) == ["runbooks", *argv, "--start-at", "second"]
    marker.write_text("")
    r = _shell(hint, env, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout)
    assert [s["name"] for s in d["steps"]] == ["second"]


def test_resume_command_replaces_start_at_and_escapes_braces() -> None:
    argv = ["/venv/bin/runbooks", "rollback", "--commit", "abc1234", "--start-at", "git-revert", "--var", "x={y}"]
    line = resume_command("rollback", argv).format(step="rebuild")
    assert line == "runbooks rollback --commit abc1234 --var 'x={y}' --start-at rebuild"
    argv = ["/usr/lib/python3/site-packages/invoke/__main__.py", "-r", "/srv/ops", "rollback", "--start-at=verify"]
    assert resume_command("rollback", argv).format(step="verify") == "inv -r /srv/ops rollback --start-at verify"
    assert program_name(["/usr/local/bin/invoke"]) == "inv" and program_name(["runbooks"]) == "runbooks"
    assert resume_command("rollback", ["x"], fallback="inv rollback --start-at {step}") == "inv rollback --start-at {step}"
